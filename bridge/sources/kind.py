"""What the bridge needs to know about a webhook provider: its SourceKind."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.sources.handshake import Handshake
from bridge.sources.payload import Payload, parse_json_object
from bridge.sources.signatures.echoed_field import EchoedField
from bridge.sources.signatures.scheme import HeaderLookup, SignatureScheme

# A transform yields named values; None means "the provider did not send it".
Values = Mapping[str, str | None]
# Values the bridge adds to every activity's: the delivery's idempotency key traces
# an activity back to the provider's event (a generic kind's message id).
BRIDGE_VALUES = ("delivery_id",)


class TransformError(Exception):
    """The payload cannot be mapped; the message says what is missing or wrong."""


@dataclass(frozen=True)
class SourceKind:
    """One provider: how its deliveries are checked, keyed, typed and transformed."""

    name: str
    content_type: str
    signature: SignatureScheme
    # Event types the transform understands, each with the value names it yields.
    event_values: Mapping[str, tuple[str, ...]]
    # The provider's id for a delivery, from its headers or its parsed payload; the
    # raw body is there for the fallback, body_hash_key(body).
    idempotency_key: Callable[[HeaderLookup, bytes, Payload], str]
    event_type: Callable[[Payload], str | None]
    transform: Callable[[str, Payload], Sequence[Values]]
    # How a verified body becomes a payload; a ValueError's text completes "the body ...".
    parse: Callable[[bytes], Payload] = parse_json_object
    # The file suffix of the kind's samples in transforms/samples/<name>/.
    sample_suffix: str = ".json"
    # A header that names the event type (GitHub's X-GitHub-Event); the body's type otherwise.
    event_type_header: str | None = None
    # The values every event type yields, for kinds that take any type (the generic ones).
    any_event_values: tuple[str, ...] | None = None
    # Builds this kind for one source from its [sources.<name>.scheme] table; a ValueError
    # says which key is wrong. None: the kind takes no scheme table.
    configure: Callable[[Mapping[str, Any]], SourceKind] | None = None
    # A verification handshake the provider runs (Meta's GET, Zoom's url_validation POST):
    # answered at once and never stored. None: POST is the only method, every POST an event.
    handshake: Handshake | None = None
    # Secrets besides the signing one, each from its own variable ([sources.<name>.secret_envs]):
    # Meta's verify_token, Ozonetel's api_key. Required while the source is enabled.
    named_secrets: tuple[str, ...] = ()
    # A named secret the provider echoes inside the body (Ozonetel's Apikey), checked after
    # parsing: SignatureError (401) when it is not the configured one.
    echo: EchoedField | None = None
    # Aadhaar numbers in the body are masked to their last four digits before it is stored
    # (bridge/sources/redaction.py): True for the KYC kinds; a source may say otherwise
    # (redact_aadhaar in [sources.<name>]). JSON kinds only.
    redact_aadhaar: bool = False

    def type_of(self, headers: HeaderLookup, payload: Payload) -> str | None:
        """Return a delivery's event type: from its header where the kind names one, else the body."""
        if self.event_type_header:
            return (headers.get(self.event_type_header) or "").strip() or None
        return self.event_type(payload)

    def values_of(self, event_type: str) -> tuple[str, ...] | None:
        """Return the value names the transform yields for an event type; None if it has none."""
        if event_type in self.event_values:
            return self.event_values[event_type]
        return self.any_event_values

    def configured(self, scheme: Mapping[str, Any]) -> SourceKind:
        """Return the kind as one source configures it; a ValueError says what is wrong."""
        if self.configure is not None:
            return self.configure(scheme)
        if scheme:
            raise ValueError(f"the {self.name} kind takes no scheme table; remove it")
        return self
