"""Random faults and lost answers in the sandbox, over real HTTP, and what the bridge makes of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge import create_app
from bridge.sandbox import SandboxServer, SandboxSettings, start_sandbox
from bridge.sandbox.settings import FaultRates
from bridge.sandbox.state import INTERNAL_ERROR_BODY
from tests.conftest import make_services
from tests.integration.sandbox.test_sandbox_contract import (
    ACTIVITIES,
    AUTH,
    TIMEOUT,
    add_fault,
    post_rows,
    received,
    row,
)
from tests.integration.test_delivery import accept
from tests.support import activity_rows, run_worker_until, settled


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox of its own: these tests change its fault rates."""
    server = start_sandbox(SandboxSettings())
    yield server
    server.stop()


def set_rates(sandbox: SandboxServer, seed: int | None = None, **rates: float) -> requests.Response:
    """Set the random fault rates through the control endpoint."""
    body: dict[str, Any] = {"rates": rates}
    if seed is not None:
        body["seed"] = seed
    return requests.post(f"{sandbox.url}/sandbox/faults", json=body, timeout=TIMEOUT)


def outcome(sandbox: SandboxServer) -> str:
    """Post one row and name what came back: a status, or 'lost' for a closed connection."""
    try:
        return str(post_rows(sandbox, [row()]).status_code)
    except requests.ConnectionError:
        return "lost"


def test_a_lost_answer_stores_the_rows_then_closes_the_connection(sandbox: SandboxServer) -> None:
    """The client sees the connection close with no answer; the rows exist and the log says why."""
    add_fault(sandbox, lost_answer=True)
    with pytest.raises(requests.ConnectionError):
        post_rows(sandbox, [row(), row()])
    seen = received(sandbox)
    assert len(seen["activities"]) == 2
    assert [(c["status"], c["fault"], c["rows"]) for c in seen["calls"]] == [(200, "lost_answer", 2)]
    assert post_rows(sandbox, [row()]).status_code == 200


def test_an_error_rate_of_one_answers_leadsquareds_internal_error_and_stores_nothing(
    sandbox: SandboxServer,
) -> None:
    """Every bulk call gets 500 with the MXUnknownException body; read-backs are left alone."""
    assert set_rates(sandbox, error=1.0).status_code == 200
    answer = post_rows(sandbox, [row()])
    assert (answer.status_code, answer.json()) == (500, INTERNAL_ERROR_BODY)
    read_back = requests.post(
        f"{sandbox.url}{ACTIVITIES}", params={"opportunityId": "opp-1"}, headers=AUTH, timeout=TIMEOUT
    )
    assert read_back.status_code == 200
    seen = received(sandbox)
    assert seen["activities"] == []
    assert [(c["status"], c["fault"]) for c in seen["calls"]] == [(500, "status"), (200, None)]


def test_a_rate_limit_rate_answers_leadsquareds_429_inside_the_limit(sandbox: SandboxServer) -> None:
    """An extra 429 carries LeadSquared's limit message although the window has room."""
    set_rates(sandbox, rate_limit=1.0)
    answer = post_rows(sandbox, [row()])
    assert answer.status_code == 429
    assert answer.json()["ExceptionMessage"] == "API calls exceeded the limit of 25 in 5 second(s)"
    assert received(sandbox)["activities"] == []


def test_a_seed_repeats_the_same_faults_and_reset_restores_the_starting_rates() -> None:
    """Two runs with one seed fault the same calls; each kind shows up; after reset nothing faults."""
    settings = SandboxSettings(calls_per_window=1000)
    with start_sandbox(settings) as sandbox:
        runs = []
        for _ in range(2):
            set_rates(sandbox, seed=7, error=0.25, rate_limit=0.25, lost_answer=0.25)
            runs.append([outcome(sandbox) for _ in range(40)])
        assert runs[0] == runs[1]
        assert set(Counter(runs[0])) == {"200", "500", "429", "lost"}
        faulted = [c for c in received(sandbox)["calls"] if c["fault"] is not None]
        assert len(faulted) == 2 * (40 - runs[0].count("200"))
        requests.post(f"{sandbox.url}/sandbox/reset", timeout=TIMEOUT).raise_for_status()
        assert [outcome(sandbox) for _ in range(10)] == ["200"] * 10


def test_rates_and_seed_from_the_settings_apply_from_the_start() -> None:
    """A sandbox started with rates faults its first call, and GET /sandbox/faults shows them."""
    settings = SandboxSettings(fault_rates=FaultRates(lost_answer=1.0), fault_seed=1)
    with start_sandbox(settings) as sandbox:
        assert outcome(sandbox) == "lost"
        shown = requests.get(f"{sandbox.url}/sandbox/faults", timeout=TIMEOUT).json()
        assert shown == {"rates": {"error": 0.0, "rate_limit": 0.0, "lost_answer": 1.0}}


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"rates": {"error": 2}}, "from 0 to 1"),
        ({"rates": {"error": 0.6, "lost_answer": 0.6}}, "add up to 1"),
        ({"rates": {"timeouts": 0.1}}, "unknown rate 'timeouts'"),
        ({"rates": 0.1}, "must be an object"),
        ({"rates": {"error": "0.1"}}, "a number from 0 to 1"),
        ({"rates": {}, "seed": "seven"}, "'seed' must be an integer"),
        ({"rates": {}, "times": 2}, "unknown key 'times'"),
        ({"lost_answer": "yes"}, "'lost_answer' takes true"),
    ],
)
def test_bad_rates_are_refused_with_a_hint(sandbox: SandboxServer, body: dict[str, Any], hint: str) -> None:
    """Rates the sandbox cannot draw get a 400 saying what to fix."""
    answer = requests.post(f"{sandbox.url}/sandbox/faults", json=body, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert hint in answer.json()["error"]


def test_the_bridge_settles_a_lost_answer_by_reading_back_and_posts_nothing_twice(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A broken connection makes the rows unknown; the read-back finds them delivered, once."""
    services = make_services(tmp_path, database_url, sandbox)
    add_fault(sandbox, lost_answer=True)
    accept(create_app(services).test_client(), 3, 1)
    run_worker_until(services, settled(services))
    seen = received(sandbox)
    assert len(seen["activities"]) == 3
    first = seen["calls"][0]
    assert (first["status"], first["fault"]) == (200, "lost_answer")
    assert "GetActivitiesOfOpportunity" in seen["calls"][1]["path"]
    rows = activity_rows(services)
    assert {r.status for r in rows} == {"delivered"}
    assert {r.prospect_activity_id for r in rows} == {a["ProspectActivityId"] for a in seen["activities"]}
