"""A LeadSquared activity the bridge owes, keyed so it is never posted twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Activity:
    """One row of a bulk ByOpportunityId call, bound for one opportunity."""

    # source:idempotency_key:position, stable across redeliveries and restarts.
    activity_key: str
    account: str
    opportunity_id: str
    # The row exactly as LeadSquared receives it (ActivityEvent, Fields, ...).
    request: dict[str, Any]


def activity_key(source: str, idempotency_key: str, position: int) -> str:
    """Return the bridge's own key for the position-th activity of an event."""
    return f"{source}:{idempotency_key}:{position}"
