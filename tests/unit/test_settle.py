"""What one bulk call's outcome does to each row of its batch: the delivery decision, with no store."""

from __future__ import annotations

from bridge.config.settings import DeliverySettings
from bridge.leadsquared.outcomes import (
    BadRequest,
    Outcome,
    Posted,
    RateLimited,
    Rejected,
    Retryable,
    RowResult,
    ServerError,
    Unauthorized,
    Unknown,
)
from bridge.pipeline.deliver import Settlement, settle
from bridge.pipeline.gate import Verdict, reaction_to
from bridge.store.claims import ClaimedActivity

NOW = 10_000.0
POLICY = DeliverySettings(
    max_attempts=3, max_age_seconds=3600, backoff_base_seconds=2, backoff_max_seconds=60
)


def rows(count: int, attempts: int = 0, created_at: float = NOW - 10) -> list[ClaimedActivity]:
    """Return claimed activities numbered 1..count."""
    return [
        ClaimedActivity(number, f"razorpay:evt_{number}:0", {"ActivityEvent": 201}, attempts, created_at)
        for number in range(1, count + 1)
    ]


def settled(outcome: Outcome, items: list[ClaimedActivity], due_at: float = NOW) -> Settlement:
    """Settle the items as the gate would have judged the outcome."""
    verdict = Verdict(reaction_to(outcome), outcome.message, due_at)
    return settle(items, outcome, verdict, NOW, POLICY, read_back_after=30.0)


def test_a_partial_200_delivers_fails_and_doubts_each_row_by_its_own_answer() -> None:
    """Row 1 created, row 2 refused, row 3 missing: delivered, dead with the reason, unknown to read back."""
    items = rows(3)
    answer = Posted(
        "LeadSquared answered 200",
        status=200,
        rows={
            1: RowResult(created=True, prospect_activity_id="pa-1", message=None),
            2: RowResult(created=False, prospect_activity_id=None, message="Invalid dropdown value"),
        },
    )
    result = settled(answer, items)
    assert result.delivered == [(items[0], "pa-1")]
    assert result.dead == [(items[1], "LeadSquared did not create the activity: Invalid dropdown value")]
    assert result.unknown == [(items[2], "LeadSquared's answer left this row out", NOW)]
    assert result.due_again == [] and result.halves == []


def test_a_400_on_several_rows_splits_the_batch_in_halves() -> None:
    """A refused body of five rows is posted again as two and three, nothing recorded yet."""
    items = rows(5)
    result = settled(BadRequest("LeadSquared answered 400", status=400), items)
    assert result.halves == [items[:2], items[2:]]
    assert result.dead == [] and result.due_again == []


def test_a_400_on_one_row_is_dead_with_the_message() -> None:
    """A row refused alone is dead at once, with LeadSquared's message, and never retried."""
    items = rows(1)
    result = settled(BadRequest("LeadSquared answered 400: bad field", status=400), items)
    assert result.dead == [(items[0], "LeadSquared answered 400: bad field")]
    assert result.halves == []


def test_a_refusal_no_retry_changes_is_dead_for_every_row() -> None:
    """A 403 that is no rate limit kills the whole batch without a split."""
    items = rows(2)
    result = settled(Rejected("LeadSquared answered 403", status=403), items)
    assert [item for item, _ in result.dead] == items
    assert result.halves == []


def test_a_401_puts_every_row_back_without_counting_an_attempt() -> None:
    """Paused rows are due again at once (the account's pause holds them), attempts unchanged."""
    items = rows(2)
    result = settled(Unauthorized("LeadSquared answered 401", status=401), items)
    assert result.due_again == [(item, NOW, "LeadSquared answered 401", False) for item in items]


def test_a_429_puts_every_row_back_at_the_end_of_the_hold_off() -> None:
    """Rate-limited rows wait for the hold-off the gate set, and the wait is not an attempt."""
    items = rows(2)
    result = settled(RateLimited("LeadSquared answered 429", status=429), items, due_at=NOW + 5.2)
    assert result.due_again == [(item, NOW + 5.2, "LeadSquared answered 429", False) for item in items]


def test_a_5xx_retries_each_row_with_backoff_and_counts_the_attempt() -> None:
    """A first 503 brings each row back within the first backoff step, counted as an attempt."""
    items = rows(2)
    result = settled(Retryable("LeadSquared answered 503", status=503), items)
    assert [item for item, *_ in result.due_again] == items
    for _, at, reason, counted in result.due_again:
        assert NOW + 1.0 <= at <= NOW + 2.0
        assert reason == "LeadSquared answered 503" and counted is True
    assert result.dead == []


def test_a_5xx_on_the_last_attempt_is_dead_saying_why() -> None:
    """A row failing its third attempt of three is dead, with the message and the limit reached."""
    items = rows(1, attempts=2)
    result = settled(Retryable("LeadSquared answered 503", status=503), items)
    assert result.dead == [(items[0], "LeadSquared answered 503; gave up after 3 attempts")]
    assert result.due_again == []


def test_a_5xx_past_the_maximum_age_is_dead() -> None:
    """A row first queued more than max_age_seconds ago is given up even with attempts to spare."""
    items = rows(1, created_at=NOW - 3599)
    result = settled(Retryable("LeadSquared answered 503", status=503), items)
    reason = "LeadSquared answered 503; gave up after 1 attempts: older than 3600 s"
    assert result.dead == [(items[0], reason)]


def test_an_internal_error_on_a_batch_retries_every_row_and_never_splits() -> None:
    """A 500 MXUnknownException says nothing against the rows: all five come back later, counted."""
    items = rows(5)
    answer = ServerError(
        "LeadSquared answered 500: An internal error occurred (MXUnknownException)",
        status=500,
        exception_type="MXUnknownException",
    )
    result = settled(answer, items)
    assert [item for item, *_ in result.due_again] == items
    assert all(counted for *_, counted in result.due_again)
    assert result.halves == [] and result.dead == []


def test_a_retried_batch_comes_back_as_one_batch() -> None:
    """Every row of a retried batch is due at the same moment, so one claim and one call take them again."""
    result = settled(ServerError("LeadSquared answered 500", status=500), rows(5))
    assert len({at for _, at, *_ in result.due_again}) == 1


def test_an_internal_error_on_one_row_is_retried_not_dead() -> None:
    """A row alone that meets a transient 500 with attempts to spare goes again: it is not proven bad."""
    items = rows(1)
    result = settled(ServerError("LeadSquared answered 500", status=500), items)
    assert [item for item, *_ in result.due_again] == items
    assert result.dead == []


def test_an_internal_error_on_the_last_attempt_is_dead_saying_why() -> None:
    """A transient 500 that outlasts max_attempts kills the row through the retry rule, with the message."""
    items = rows(1, attempts=2)
    result = settled(ServerError("LeadSquared answered 500", status=500), items)
    assert result.dead == [(items[0], "LeadSquared answered 500; gave up after 3 attempts")]


def test_a_validation_500_on_several_rows_splits_the_batch() -> None:
    """A 500 naming invalid data is about a row: the batch is bisected, nothing counted yet."""
    items = rows(4)
    answer = ServerError("bad type", status=500, exception_type="MXInvalidDataTypeException")
    result = settled(answer, items)
    assert result.halves == [items[:2], items[2:]]
    assert result.dead == [] and result.due_again == []


def test_a_validation_500_on_one_row_is_dead_with_leadsquareds_message() -> None:
    """The row a validation 500 still refuses alone is dead at once with what LeadSquared said."""
    items = rows(1)
    message = "LeadSquared answered 500: 'mx_Custom_19' is mandatory (MXInvalidActivityFieldsException)"
    answer = ServerError(message, status=500, exception_type="MXInvalidActivityFieldsException")
    result = settled(answer, items)
    assert result.dead == [(items[0], message)]


def test_a_timeout_makes_every_row_unknown_to_read_back_after_the_call_could_finish() -> None:
    """An unknown outcome is never reposted blindly: each row waits the call's timeout, then is read back."""
    items = rows(2)
    result = settled(Unknown("LeadSquared did not answer within 30 s"), items)
    assert result.unknown == [(item, "LeadSquared did not answer within 30 s", NOW + 30.0) for item in items]
    assert result.due_again == [] and result.dead == []
