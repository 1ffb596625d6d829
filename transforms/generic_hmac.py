"""The generic HMAC kind (`kind = "hmac"`): a signed provider we have no module for, in TOML alone.

Everything is in `[sources.<name>.scheme]`:

    header           the signature header (required), e.g. "X-Acme-Signature"
    algorithm        sha256 (default), sha1 or sha512
    encoding         hex (default) or base64
    prefix           text before the signature in the header, e.g. "sha256="
    signed           "body" (default), or "timestamp+body": the timestamp header's
                     text, the separator, then the raw body
    timestamp_header the signed timestamp's header (needed for "timestamp+body")
    separator        between timestamp and body (default "."; "" for none)
    timestamp_unit   seconds (default) or milliseconds
    tolerance_seconds how far the timestamp may be from now, either way (default 300)
    event_type_path  where the body holds the event type (default "type"), or
    event_type_header a header that holds it
    id_header        a header with the delivery's unique id, or
    id_path          where the body holds it; without either, the body's SHA-256

The key is the secret's UTF-8 bytes. Any event type is accepted; fields are
mapped by payload path, and `{delivery_id}` is the idempotency key. Headers
other than the signature and the signed timestamp are not covered: an id or a
type read from a header is trusted as sent, so prefer id_path and
event_type_path where the provider puts them in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from bridge.sources.kind import SourceKind
from bridge.sources.scheme_options import LOCATION_KEYS, SchemeOptions, generic_kind, with_locations
from bridge.sources.signatures import HmacSignature, SignedTimestamp
from bridge.sources.signatures.hmac_header import ALGORITHMS, Encoding

SIGNATURE_KEYS = (
    "header",
    "algorithm",
    "encoding",
    "prefix",
    "signed",
    "timestamp_header",
    "separator",
    "timestamp_unit",
    "tolerance_seconds",
)


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind signed, typed and keyed as the source's scheme table says."""
    options = SchemeOptions(scheme, SIGNATURE_KEYS + LOCATION_KEYS)
    signature = HmacSignature(
        header=options.text("header", required=True) or "",
        algorithm=options.choice("algorithm", ALGORITHMS, "sha256"),
        encoding=cast(Encoding, options.choice("encoding", ("hex", "base64"), "hex")),
        prefix=options.text("prefix", "") or "",
        timestamp=signed_timestamp(options),
    )
    return with_locations(replace(SOURCE, signature=signature), options, event_type_path="type")


def signed_timestamp(options: SchemeOptions) -> SignedTimestamp | None:
    """Return the signed timestamp the table describes, or None when only the body is signed."""
    signed = options.choice("signed", ("body", "timestamp+body"), "body")
    timestamp_keys = ("timestamp_header", "separator", "timestamp_unit", "tolerance_seconds")
    if signed == "body":
        stray = [key for key in timestamp_keys if key in options.raw]
        if stray:
            raise ValueError(f'{stray[0]}: only used with signed = "timestamp+body"')
        return None
    unit = options.choice("timestamp_unit", ("seconds", "milliseconds"), "seconds")
    return SignedTimestamp(
        header=options.text("timestamp_header", required=True) or "",
        separator=options.text("separator", ".") or "",
        units_per_second=1000 if unit == "milliseconds" else 1,
        tolerance_seconds=options.number("tolerance_seconds", 300, minimum=1),
    )


# A source of this kind always has a scheme table: configure() replaces this placeholder signature.
SOURCE = generic_kind("hmac", HmacSignature("X-Signature"), configure)
