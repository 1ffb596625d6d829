"""The gate: which reaction every outcome gets, and what a gate does to its account."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.config.settings import DeliverySettings
from bridge.leadsquared import outcomes
from bridge.leadsquared.outcomes import (
    BadRequest,
    Found,
    LeadFound,
    NotFound,
    OpportunityFound,
    Outcome,
    Posted,
    RateLimited,
    Rejected,
    Retryable,
    ServerError,
    Unauthorized,
    Unknown,
)
from bridge.pipeline.gate import ANY_EXCEPTION, REACTIONS, Gate, Reaction, hold_off, reaction_to
from tests.unit.fakes import ACCOUNT, FakeClient, FakeClock, FakeControls, FakeStopping

POLICY = DeliverySettings(probe_interval_seconds=30.0)


def server_error(exception_type: str | None) -> ServerError:
    """Return a 500 naming the ExceptionType, as the client builds it."""
    return ServerError(
        f"LeadSquared answered 500 ({exception_type})", status=500, exception_type=exception_type
    )


def row_prefix(outcome: Outcome) -> str:
    """Return the prefix of the table's row that decides the outcome."""
    exception_type = outcome.exception_type or ""
    prefixes = [p for kind, p in REACTIONS if kind is type(outcome) and exception_type.startswith(p)]
    return max(prefixes, key=len)


def make_gate(client: FakeClient | None = None) -> tuple[Gate, FakeClock, FakeControls, FakeStopping]:
    """Return a gate over fakes, with the fakes to inspect."""
    clock = FakeClock()
    controls = FakeControls(clock)
    stopping = FakeStopping(clock)
    return Gate(client or FakeClient(), controls, POLICY, stopping, clock), clock, controls, stopping


def test_every_outcome_type_has_a_row_in_the_table() -> None:
    """A new outcome cannot be forgotten: each subclass of Outcome is in REACTIONS."""
    defined = {
        value
        for value in vars(outcomes).values()
        if isinstance(value, type) and issubclass(value, Outcome) and value is not Outcome
    }
    assert defined == {kind for kind, _ in REACTIONS}
    assert {kind for kind, prefix in REACTIONS if prefix == ANY_EXCEPTION} == defined


CASES = [
    (Posted("LeadSquared answered 200", status=200), Reaction.SETTLE),
    (Found("LeadSquared answered 200", status=200), Reaction.SETTLE),
    (OpportunityFound("found", opportunity_id="opp-1"), Reaction.SETTLE),
    (LeadFound("found", lead_id="lead-1"), Reaction.SETTLE),
    (NotFound("no lead with that EmailAddress", status=200), Reaction.NOT_FOUND),
    (BadRequest("LeadSquared answered 400", status=400), Reaction.ISOLATE),
    (Rejected("LeadSquared answered 403", status=403), Reaction.GIVE_UP),
    (Unauthorized("LeadSquared answered 401", status=401), Reaction.PAUSE),
    (RateLimited("LeadSquared answered 429", status=429), Reaction.HOLD_OFF),
    (Retryable("could not connect to LeadSquared", status=None), Reaction.RETRY),
    (Unknown("LeadSquared did not answer within 30 s"), Reaction.RECONCILE),
    (server_error("MXInvalidDataTypeException"), Reaction.ISOLATE),
    (server_error("MXInvalidActivityFieldsException"), Reaction.ISOLATE),
    (server_error("MXMandatoryAttributeMissingException"), Reaction.ISOLATE),
    (server_error("MXUnknownAttributeException"), Reaction.ISOLATE),
    (server_error("MXDuplicateEntryException"), Reaction.ISOLATE),
    (server_error("MXUnknownException"), Reaction.RETRY),
    (server_error("MXSomethingNewException"), Reaction.RETRY),
    (server_error(None), Reaction.RETRY),
    (ServerError("LeadSquared answered 502: <html>Bad Gateway</html>", status=502), Reaction.RETRY),
]


@pytest.mark.parametrize(("outcome", "reaction"), CASES)
def test_each_outcome_gets_its_reaction(outcome: Outcome, reaction: Reaction) -> None:
    """The table gives every kind of answer the reaction the design names for it."""
    assert reaction_to(outcome) is reaction


def test_every_row_of_the_table_is_exercised_above() -> None:
    """Each (type, prefix) row decides at least one outcome of the parametrized cases."""
    used = {(type(outcome), row_prefix(outcome)) for outcome, _ in CASES}
    assert used == set(REACTIONS)


def test_an_internal_error_is_not_taken_for_an_unknown_attribute() -> None:
    """MXUnknownException shares the MXUnknown start with MXUnknownAttribute...; only the latter isolates."""
    assert reaction_to(server_error("MXUnknownException")) is Reaction.RETRY
    assert reaction_to(server_error("MXUnknownAttributeException")) is Reaction.ISOLATE


def test_a_401_pauses_the_account_and_probes_after_the_interval() -> None:
    """Unauthorized pauses the account with LeadSquared's message; the rows are due again at once."""
    gate, clock, controls, _ = make_gate()
    verdict = gate.judge(Unauthorized("LeadSquared answered 401: bad keys", status=401), {})
    assert verdict.reaction is Reaction.PAUSE
    assert verdict.due_at == clock.now
    assert controls.pauses == [("main", "LeadSquared answered 401: bad keys", 30.0)]
    assert controls.blocks == []


def test_a_429_holds_the_account_off_for_a_full_window_and_margin() -> None:
    """A bare 429 blocks the account's calls for its own window plus the margin, limit unchanged."""
    gate, clock, controls, _ = make_gate()
    verdict = gate.judge(RateLimited("LeadSquared answered 429", status=429), {})
    assert verdict.reaction is Reaction.HOLD_OFF
    assert verdict.due_at == pytest.approx(clock.now + 5.2)
    [(account, hold_seconds, lowered)] = controls.blocks
    assert (account, lowered) == ("main", None)
    assert hold_seconds == pytest.approx(5.2)
    assert controls.pauses == []


def test_a_rate_limit_naming_a_lower_limit_lowers_it() -> None:
    """A 403 that names 'limit of 10 in 5 seconds' holds off for that window and lowers the limit to 10."""
    answer = RateLimited("limit of 10 in 5 second(s)", status=403, limit=10, window_seconds=5.0)
    hold_seconds, lowered = hold_off(answer, ACCOUNT)
    assert hold_seconds == pytest.approx(5.2)
    assert lowered == 10


def test_a_rate_limit_naming_a_higher_limit_keeps_the_configured_one() -> None:
    """A named limit above the configured one is not taken: the bridge never speeds up on a 429."""
    answer = RateLimited("limit of 50 in 10 second(s)", status=403, limit=50, window_seconds=10.0)
    hold_seconds, lowered = hold_off(answer, ACCOUNT)
    assert hold_seconds == pytest.approx(10.2)
    assert lowered is None


def test_other_outcomes_leave_the_account_alone() -> None:
    """A retryable or refused call neither pauses nor holds off the account."""
    gate, clock, controls, _ = make_gate()
    for outcome in (Retryable("503", status=503), BadRequest("400", status=400), Unknown("timeout")):
        assert gate.judge(outcome, {}).due_at == clock.now
    assert controls.pauses == [] and controls.blocks == []


def recorder(times: list[float], clock: FakeClock, answer: bool = True) -> Callable[[], bool]:
    """Return a before_send that records when it ran and answers whether the call may go."""

    def before_send() -> bool:
        times.append(clock.now)
        return answer

    return before_send


def test_a_call_waits_for_its_slot_then_goes() -> None:
    """With a slot 2 s ahead the gate waits exactly until it, runs before_send once, and lets the call go."""
    gate, clock, controls, _ = make_gate()
    controls.reserved.append(clock.now)
    controls.spacing = 2.0
    sent: list[float] = []
    assert gate.take_slot(before_send=recorder(sent, clock)) is True
    assert sent == [pytest.approx(1_002.0)]
    assert controls.reserved == [1_000.0, 1_002.0]


@pytest.mark.parametrize("server_offset", [-3.0, 4.0, 3600.0])
def test_a_clock_offset_from_the_store_changes_no_wait(server_offset: float) -> None:
    """The store's clock seconds or an hour off this worker's: the call still waits 2 s and is not late."""
    gate, clock, controls, _ = make_gate()
    controls.server_offset = server_offset
    controls.reserved.append(controls.server_now())
    controls.spacing = 2.0
    sent: list[float] = []
    assert gate.take_slot(before_send=recorder(sent, clock)) is True
    assert sent == [pytest.approx(1_002.0)]
    assert len(controls.reserved) == 2


def test_a_late_wake_gives_the_slot_up_and_takes_a_fresh_one() -> None:
    """Woken later than half the margin after its slot, a call reserves again instead of going out of turn."""
    gate, clock, controls, stopping = make_gate()
    stopping.oversleep = [0.5]
    sent: list[float] = []
    assert gate.take_slot(before_send=recorder(sent, clock)) is True
    assert len(controls.reserved) == 2
    assert len(sent) == 1


def test_no_call_goes_while_the_worker_stops() -> None:
    """A stopping worker gets False from the gate and never runs before_send."""
    gate, clock, _, stopping = make_gate()
    stopping.stopped = True
    sent: list[float] = []
    assert gate.take_slot(before_send=recorder(sent, clock)) is False
    assert sent == []


def test_a_refusal_before_the_send_stops_the_call() -> None:
    """When before_send says the rows may not go (taken back, stale heartbeat), take_slot says False."""
    gate, clock, controls, _ = make_gate()
    asked: list[float] = []
    assert gate.take_slot(before_send=recorder(asked, clock, answer=False)) is False
    assert len(asked) == 1 and len(controls.reserved) == 1


def test_a_probe_that_passes_resumes_the_account() -> None:
    """Keys LeadSquared accepts again resume the account; no later probe is set."""
    client = FakeClient()
    gate, _, controls, _ = make_gate(client)
    gate.probe()
    assert client.probed == 1
    assert controls.resumed == ["main"] and controls.probes == []


def test_a_probe_meeting_an_internal_error_keeps_the_account_paused_and_probes_again() -> None:
    """A transient 500 on the probe is no verdict on the keys: no resume, next probe one interval on."""
    client = FakeClient(probe_answer=server_error("MXUnknownException"))
    gate, _, controls, _ = make_gate(client)
    gate.probe()
    assert controls.resumed == []
    assert controls.probes == [("main", 30.0)]


def test_a_probe_that_fails_tries_again_after_the_interval() -> None:
    """Keys still refused keep the account paused and set the next probe one interval on."""
    client = FakeClient(probe_answer=Unauthorized("LeadSquared answered 401", status=401))
    gate, _, controls, _ = make_gate(client)
    gate.probe()
    assert controls.resumed == []
    assert controls.probes == [("main", 30.0)]
