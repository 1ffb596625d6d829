"""What a LeadSquared call came to: one typed outcome per kind of answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RowResult:
    """LeadSquared's answer for one row of a bulk call."""

    created: bool
    prospect_activity_id: str | None
    message: str | None


@dataclass(frozen=True)
class Posted:
    """A 200: per-row results by RowNumber (1-based); a row may be missing."""

    rows: Mapping[int, RowResult]


@dataclass(frozen=True)
class BadRequest:
    """LeadSquared refused the body (400, or a 500 naming an MX application error)."""

    message: str


@dataclass(frozen=True)
class Rejected:
    """A refusal that no retry or split will change (403, other 4xx)."""

    message: str


@dataclass(frozen=True)
class Unauthorized:
    """The keys are wrong, revoked, or for another region's host."""

    message: str


@dataclass(frozen=True)
class RateLimited:
    """Too many calls; `limit`/`window_seconds` when the message names the real limit."""

    message: str
    limit: int | None
    window_seconds: float | None


@dataclass(frozen=True)
class Retryable:
    """The call did not take effect (5xx, refused connection): try again later."""

    message: str


@dataclass(frozen=True)
class Unknown:
    """The call may or may not have taken effect (timeout, cut connection, odd answer)."""

    message: str


@dataclass(frozen=True)
class Found:
    """A read that succeeded."""

    body: Any


@dataclass(frozen=True)
class OpportunityFound:
    """A look-up found the opportunity."""

    opportunity_id: str


@dataclass(frozen=True)
class LeadFound:
    """A lead look-up found the lead."""

    lead_id: str


@dataclass(frozen=True)
class NotFound:
    """LeadSquared has no such lead, or the lead no opportunity of the type (yet)."""

    message: str


Outcome = Posted | BadRequest | Rejected | Unauthorized | RateLimited | Retryable | Unknown
# What a failed read can tell: a read changes nothing, so a lost answer is simply retried.
ReadError = BadRequest | Rejected | Unauthorized | RateLimited | Retryable
