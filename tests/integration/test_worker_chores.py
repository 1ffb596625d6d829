"""The worker's hook for work from above the pipeline: chores, run a little every round."""

from __future__ import annotations

from bridge.pipeline.worker import Worker
from bridge.services import Services
from tests.support import run_worker_until


class Flaky:
    """A chore that raises on its first round and counts every round."""

    def __init__(self, _services: Services, worker_id: str) -> None:
        self.worker_id = worker_id
        self.rounds = 0

    def run_some(self, now: float) -> bool:
        """Count the round; fail the first."""
        self.rounds += 1
        if self.rounds == 1:
            raise RuntimeError("a bug in a chore")
        return False


def test_the_worker_runs_its_chores_each_round_and_outlives_one_that_raises(services: Services) -> None:
    """A chore is built with the worker's id, called every round, and its exception only logged."""
    worker = Worker(services, chores=[Flaky])
    [chore] = worker.chores
    assert isinstance(chore, Flaky) and chore.worker_id == worker.worker_id
    run_worker_until(services, lambda: chore.rounds >= 3, worker=worker)
