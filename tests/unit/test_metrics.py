"""The metrics' pure parts: a call's counts, a dead row's reason code, the store's gauges from a snapshot."""

from __future__ import annotations

from prometheus_client import REGISTRY

from bridge.leadsquared.outcomes import Posted, RateLimited, Rejected, RowResult, ServerError, Unauthorized
from bridge.monitor.store_gauges import StoreSnapshot, families
from bridge.observe.metrics import DeadReason, count_dead
from bridge.pipeline.call_metrics import count_call, row_fates
from bridge.store.gauges import AccountGauge
from bridge.store.tables import CallKind
from tests.unit.fakes import ACCOUNT
from tests.unit.test_settle import rows, settled


def sample(name: str, **labels: str) -> float:
    """Return a sample of this process's registry, 0 when it has none yet."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def posted(*created: bool) -> Posted:
    """Return a 200 whose rows 1..n were created or refused as given."""
    results = {
        number: RowResult(created=ok, prospect_activity_id=f"pa-{number}" if ok else None, message=None)
        for number, ok in enumerate(created, start=1)
    }
    return Posted("LeadSquared answered 200", status=200, rows=results)


def test_each_row_of_a_200_is_named_by_its_own_answer() -> None:
    """Created, refused, and left out of the answer: three rows, three fates."""
    assert row_fates(posted(True, False), 3) == ["created", "refused", "left_out"]


def test_rows_of_a_call_without_row_answers_carry_the_calls_outcome() -> None:
    """A 429 says nothing per row: every row of it is counted as rate_limited."""
    assert row_fates(RateLimited("LeadSquared answered 429", status=429), 2) == ["rate_limited"] * 2


def test_a_delivery_counts_its_call_duration_wait_and_rows() -> None:
    """One bulk call of three rows moves the call, its seconds, its wait and each row's fate."""
    account = "unit-delivery"
    count_call(account, CallKind.DELIVERY, posted(True, True, False), 0.8, 1.5, 3)
    assert sample("bridge_lsq_calls_total", account=account, kind="delivery", outcome="posted") == 1
    assert sample("bridge_lsq_call_seconds_sum", account=account, kind="delivery") == 0.8
    assert sample("bridge_rate_limit_wait_seconds_sum", account=account) == 1.5
    assert sample("bridge_lsq_rows_total", account=account, outcome="created") == 2
    assert sample("bridge_lsq_rows_total", account=account, outcome="refused") == 1


def test_a_probe_counts_no_rows() -> None:
    """A probe of a paused account's keys is a call of kind probe, with no activity rows."""
    account = "unit-probe"
    count_call(account, CallKind.PROBE, Unauthorized("LeadSquared answered 401", status=401), 0.1, 0.0, 0)
    assert sample("bridge_lsq_calls_total", account=account, kind="probe", outcome="unauthorized") == 1
    assert sample("bridge_lsq_rows_total", account=account, outcome="unauthorized") == 0


def test_dead_rows_are_counted_by_reason_and_none_counts_nothing() -> None:
    """count_dead adds the rows that went dead; a transition that changed none adds no series."""
    count_dead("unit-dead", DeadReason.GAVE_UP, 2)
    count_dead("unit-dead", DeadReason.UNSETTLED, 0)
    assert sample("bridge_dead_total", account="unit-dead", reason="gave_up") == 2
    assert (
        REGISTRY.get_sample_value("bridge_dead_total", {"account": "unit-dead", "reason": "unsettled"})
        is None
    )


def test_a_settlement_names_why_its_rows_died() -> None:
    """A refused row, a lone bad row, a permanent refusal and exhausted retries each get their own code."""
    refused = settled(posted(False), rows(1))
    bad = settled(
        ServerError("LeadSquared answered 500", status=500, exception_type="MXInvalidInput"), rows(1)
    )
    rejected = settled(Rejected("LeadSquared answered 403", status=403), rows(1))
    exhausted = settled(ServerError("LeadSquared answered 500", status=500), rows(1, attempts=2))
    assert all(s.dead for s in (refused, bad, rejected, exhausted))
    assert [s.dead_reason for s in (refused, bad, rejected, exhausted)] == [
        DeadReason.ROW_REFUSED,
        DeadReason.BAD_REQUEST,
        DeadReason.REJECTED,
        DeadReason.GAVE_UP,
    ]


def test_the_store_gauges_give_every_configured_account_every_series() -> None:
    """Counts fill in zeros; the lag is now less the earliest due time; a lowered limit is in force."""
    snapshot = StoreSnapshot(
        counts=[("main", "pending", 7), ("main", "dead", 2)],
        earliest_due={"main": 970.0},
        accounts={"main": AccountGauge(paused=True, lowered_limit=10)},
        workers_alive=2,
    )
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families(snapshot, {"main": ACCOUNT}, now=1000.0)
        for s in family.samples
    }
    assert samples[("bridge_activities", (("account", "main"), ("status", "pending")))] == 7
    assert samples[("bridge_activities", (("account", "main"), ("status", "unknown")))] == 0
    assert ("bridge_activities", (("account", "main"), ("status", "delivered"))) not in samples
    assert samples[("bridge_oldest_pending_seconds", (("account", "main"),))] == 30.0
    assert samples[("bridge_account_paused", (("account", "main"),))] == 1
    assert samples[("bridge_account_limit", (("account", "main"),))] == 10
    assert samples[("bridge_workers_alive", ())] == 2


def test_an_account_with_nothing_waiting_and_no_state_shows_no_lag_and_its_configured_limit() -> None:
    """No waiting rows: lag 0; no account_state row: not paused, the configured 25 calls."""
    snapshot = StoreSnapshot(counts=[], earliest_due={"main": None}, accounts={}, workers_alive=0)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families(snapshot, {"main": ACCOUNT}, now=1000.0)
        for s in family.samples
    }
    assert samples[("bridge_oldest_pending_seconds", (("account", "main"),))] == 0
    assert samples[("bridge_account_paused", (("account", "main"),))] == 0
    assert samples[("bridge_account_limit", (("account", "main"),))] == 25
