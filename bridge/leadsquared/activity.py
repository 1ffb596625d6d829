"""A LeadSquared activity the bridge owes, keyed so it is never posted twice."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from bridge.config.settings import LookupMethod


@dataclass(frozen=True)
class LeadLookup:
    """What to search LeadSquared for when the payload names no opportunity."""

    lead_field: str  # EmailAddress, Phone, Mobile, or another unique lead field
    value: str  # the value read from the payload, normalized
    opportunity_type: int
    method: LookupMethod
    cache_seconds: float
    wait_seconds: float

    @property
    def key(self) -> str:
        """Return a fixed-length key shared by every activity waiting on the same search."""
        parts = [self.lead_field, self.value, self.opportunity_type, self.method]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def describe(self) -> str:
        """Say what is searched for, with the email or phone masked, for reasons and logs."""
        return (
            f"{self.lead_field} {mask_contact(self.value)} "
            f"(opportunity type {self.opportunity_type}, {self.method})"
        )

    def to_json(self) -> dict[str, Any]:
        """Return the look-up as the store's JSON column holds it."""
        return asdict(self)

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> LeadLookup:
        """Rebuild a look-up from the store's JSON column."""
        return cls(**stored)


def mask_contact(value: str) -> str:
    """Mask an email or phone for reasons and logs: never show one in full.

    An email keeps its first character and its domain (r***@example.com), so
    an operator can still tell which customer it was; anything else keeps its
    last four characters.
    """
    local, at, domain = value.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return "*" * max(0, len(value) - 4) + value[-4:] if len(value) > 4 else "****"


def normalize_lookup_value(lead_field: str, value: str) -> str:
    """Return the value as searched and cached: emails compare without case.

    Phones are sent as the payload holds them (spaces trimmed) unless the
    look-up's phone_format rewrites them first (bridge/leadsquared/phones.py):
    which forms LeadSquared's phone search accepts is unconfirmed.
    """
    value = value.strip()
    return value.lower() if lead_field == "EmailAddress" else value


@dataclass(frozen=True)
class Activity:
    """One row of a bulk ByOpportunityId call, bound for one opportunity."""

    # source:idempotency_key:position, stable across redeliveries and restarts.
    activity_key: str
    account: str
    # None while the opportunity is still to be looked up; then lookup says how.
    opportunity_id: str | None
    # The row exactly as LeadSquared receives it (ActivityEvent, Fields, ...).
    request: dict[str, Any]
    lookup: LeadLookup | None = None


def activity_key(source: str, idempotency_key: str, position: int) -> str:
    """Return the bridge's own key for the position-th activity of an event."""
    return f"{source}:{idempotency_key}:{position}"
