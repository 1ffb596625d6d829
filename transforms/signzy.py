"""Signzy callbacks: authenticated by a shared token, mapped entirely by payload path.

Signzy publishes no webhook or callback specification we could find: no
signature, no payload shape, no retry policy (all unconfirmed; see
../shared/reference/webhook-sources.md, 7.6). So this kind assumes nothing
about the body: the token rides in the callback URL by default
(`/webhooks/signzy/<SIGNZY_WEBHOOK_SECRET>`; `[sources.signzy.scheme]
token_in = "header"` and `token_header` for a header), the event type is read
at `event_type_path` (default `event`), the delivery id at `id_path` (else the
body's hash), and every field is mapped by payload path in TOML. Dry-run the
first real callback (`python -m bridge transform signzy <file>`) and adjust
the paths; re-query Signzy's API for the result before acting on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bridge.sources.kind import SourceKind
from bridge.sources.scheme_options import (
    LOCATION_KEYS,
    TOKEN_KEYS,
    SchemeOptions,
    generic_kind,
    shared_token,
    with_locations,
)

DEFAULT_EVENT_TYPE_PATH = "event"


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind with its token, event type and id where the source's scheme table says."""
    options = SchemeOptions(scheme, TOKEN_KEYS + LOCATION_KEYS)
    tokened = replace(UNCONFIGURED, signature=shared_token(options, default_in="path"))
    return with_locations(tokened, options, event_type_path=DEFAULT_EVENT_TYPE_PATH)


# A KYC provider's body may carry a whole Aadhaar number: stored masked (bridge/sources/redaction.py).
UNCONFIGURED = replace(
    generic_kind("signzy", shared_token(SchemeOptions({}, TOKEN_KEYS), default_in="path"), configure),
    redact_aadhaar=True,
)
SOURCE = configure({})
