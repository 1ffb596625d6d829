"""What of a verified delivery is not stored as it came: Aadhaar numbers in a KYC source's JSON body.

The receiver calls this after verifying and parsing, before keying and
storing; the dry-run transform calls it too, so it shows what would be posted.
A body holding no Aadhaar number is stored byte for byte as it came. One that
does is stored re-serialised (keys in their order, no spaces) with each
number's first eight digits replaced by X (bridge/observe/aadhaar.py), so the
console, the API, the transform and LeadSquared only ever see the last four.
"""

from __future__ import annotations

import json
import re

from bridge.observe.aadhaar import redact_aadhaar
from bridge.sources.kind import SourceKind
from bridge.sources.payload import Payload

# Twelve digits, perhaps in groups of four, not part of a longer number: a body without such a
# run holds no Aadhaar number, and is passed on without a walk through its payload (ids with
# 16 or 19 digits in them, as KYC tools' are, do not count).
_CANDIDATE = re.compile(rb"(?<![0-9])[0-9]{4}([ -]?)[0-9]{4}\1[0-9]{4}(?![0-9])")


def aadhaar_masked(body: bytes, payload: Payload) -> tuple[bytes, Payload]:
    """Return the body and payload to store: as they came, or with every Aadhaar number masked."""
    if not _CANDIDATE.search(body):
        return body, payload
    masked, found = redact_aadhaar(payload)
    if not found:
        return body, payload
    return json.dumps(masked, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), masked


def stored_form(kind: SourceKind, body: bytes, payload: Payload) -> tuple[bytes, Payload]:
    """Return the body and payload a verified delivery is stored as: masked where the kind redacts."""
    return aadhaar_masked(body, payload) if kind.redact_aadhaar else (body, payload)
