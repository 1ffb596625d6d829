"""The sandbox's random fault draws: shares, precedence of rules, seeds."""

from __future__ import annotations

from collections import Counter

import pytest

from bridge.sandbox.settings import FaultRates
from bridge.sandbox.state import RANDOM_FAULTS, FaultKind, FaultRule, SandboxState

BULK = "/v2/ProspectActivity.svc/Bulk/CustomActivity/Add/ByOpportunityId"


def draws(state: SandboxState, calls: int) -> list[str]:
    """Name the fault each of `calls` bulk calls draws, 'none' when it draws none."""
    names = {id(rule): name for name, rule in RANDOM_FAULTS.items()}
    return [
        names[id(rule)] if (rule := state.take_fault(BULK, "opp-1", posts_rows=True)) else "none"
        for _ in range(calls)
    ]


def test_draws_follow_the_shares() -> None:
    """Over 10,000 bulk calls each fault comes up close to its share."""
    state = SandboxState(fault_rates=FaultRates(error=0.1, rate_limit=0.05, lost_answer=0.05), fault_seed=3)
    counted = Counter(draws(state, 10_000))
    assert counted["error"] == pytest.approx(1000, rel=0.1)
    assert counted["rate_limit"] == pytest.approx(500, rel=0.15)
    assert counted["lost_answer"] == pytest.approx(500, rel=0.15)
    assert counted["none"] == pytest.approx(8000, rel=0.03)


def test_the_random_faults_are_leadsquareds() -> None:
    """error is a 500 MXUnknownException, rate_limit a 429 with the limit's message, lost_answer its kind."""
    assert RANDOM_FAULTS["error"].status == 500
    assert RANDOM_FAULTS["error"].body["ExceptionType"] == "MXUnknownException"
    assert (RANDOM_FAULTS["rate_limit"].status, RANDOM_FAULTS["rate_limit"].body) == (429, None)
    assert RANDOM_FAULTS["lost_answer"].kind is FaultKind.LOST_ANSWER


def test_only_bulk_calls_draw_and_rules_come_first() -> None:
    """A read-back never draws; a queued rule is used before any draw."""
    state = SandboxState(fault_rates=FaultRates(error=1.0))
    assert (
        state.take_fault("/v2/OpportunityManagement.svc/GetActivitiesOfOpportunity", "opp-1", False) is None
    )
    rule = FaultRule(FaultKind.DELAY, delay_seconds=1.0)
    state.add_fault(rule)
    assert state.take_fault(BULK, "opp-1", posts_rows=True) is rule
    assert state.take_fault(BULK, "opp-1", posts_rows=True) is RANDOM_FAULTS["error"]


def test_a_seed_repeats_its_draws_and_reset_restarts_them() -> None:
    """The same seed gives the same sequence; new rates apply at once; reset brings back the first."""
    rates = FaultRates(error=0.3, rate_limit=0.3, lost_answer=0.3)
    state = SandboxState(fault_rates=rates, fault_seed=11)
    first = draws(state, 50)
    assert draws(SandboxState(fault_rates=rates, fault_seed=11), 50) == first
    state.set_fault_rates(FaultRates(), seed=None)
    assert set(draws(state, 20)) == {"none"}
    state.reset()
    assert state.current_fault_rates() == rates
    assert draws(state, 50) == first


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ({"error": -0.1}, "from 0 to 1"),
        ({"lost_answer": 1.5}, "from 0 to 1"),
        ({"error": 0.6, "rate_limit": 0.5}, "add up"),
    ],
)
def test_rates_that_are_not_shares_are_refused(shares: dict[str, float], message: str) -> None:
    """Each rate is from 0 to 1, and together they are at most 1."""
    with pytest.raises(ValueError, match=message):
        FaultRates(**shares)
