"""What a LeadSquared call came to: one typed outcome per kind of answer, all of one base.

Every outcome carries what an operator needs to see: LeadSquared's message (or
ours, where no answer came), the HTTP status, and LeadSquared's ExceptionType.
What the bridge does about each kind is decided in one table,
bridge/pipeline/gate.py; this module only names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """A call's result: what it says, with the HTTP status and ExceptionType where one came back."""

    message: str
    _: KW_ONLY
    status: int | None = None  # None: no answer came (refused connection, timeout)
    exception_type: str | None = None  # LeadSquared's ExceptionType, e.g. MXInvalidInputException


@dataclass(frozen=True)
class RowResult:
    """LeadSquared's answer for one row of a bulk call."""

    created: bool
    prospect_activity_id: str | None
    message: str | None


@dataclass(frozen=True)
class Posted(Outcome):
    """A 200 on a bulk call: per-row results by RowNumber (1-based); a row may be missing."""

    rows: Mapping[int, RowResult] = field(default_factory=dict)


@dataclass(frozen=True)
class BadRequest(Outcome):
    """LeadSquared refused the body as malformed (400)."""


@dataclass(frozen=True)
class ServerError(Outcome):
    """A 5xx answer; its exception_type tells a row LeadSquared calls invalid from its own failure.

    LeadSquared answers many validation problems with 500, and its own
    internal errors (MXUnknownException) with 500 too: which of the two this
    is, is the gate's to decide (bridge/pipeline/gate.py REACTIONS).
    """


@dataclass(frozen=True)
class Rejected(Outcome):
    """A refusal that no retry or split will change (403, other 4xx)."""


@dataclass(frozen=True)
class Unauthorized(Outcome):
    """The keys are wrong, revoked, or for another region's host."""


@dataclass(frozen=True)
class RateLimited(Outcome):
    """Too many calls; `limit`/`window_seconds` when the message names the real limit."""

    limit: int | None = None
    window_seconds: float | None = None


@dataclass(frozen=True)
class Retryable(Outcome):
    """The call did not take effect (refused connection, 404, 408): try again later."""


@dataclass(frozen=True)
class Unknown(Outcome):
    """The call may or may not have taken effect (timeout, cut connection, odd answer)."""


@dataclass(frozen=True)
class Found(Outcome):
    """A read that succeeded, with the parsed JSON body."""

    body: Any = None


@dataclass(frozen=True)
class OpportunityFound(Outcome):
    """A look-up found the opportunity."""

    opportunity_id: str = ""


@dataclass(frozen=True)
class LeadFound(Outcome):
    """A lead look-up found the lead."""

    lead_id: str = ""


@dataclass(frozen=True)
class NotFound(Outcome):
    """LeadSquared has no such lead, or the lead no opportunity of the type (yet)."""


# What a refused or failed call can tell: any call's error answer, and all a read can fail with
# (a read changes nothing, so a read whose answer was lost is simply retried).
ErrorOutcome = BadRequest | ServerError | Rejected | Unauthorized | RateLimited | Retryable
