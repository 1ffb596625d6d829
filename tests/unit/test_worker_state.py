"""How the overview names a worker from its heartbeat: alive, stopped cleanly, or gone silent."""

from __future__ import annotations

from bridge.operate.overview import WorkerOverview


def test_a_worker_is_alive_stopped_or_silent() -> None:
    """A recent beat is alive; a clean stop is stopped; a beat that just ended (a crash) is silent."""
    beating = WorkerOverview("h:1:a", "h", 1, 0.0, 10.0, alive=True)
    stopped = WorkerOverview("h:2:b", "h", 2, 0.0, 10.0, alive=False, stopped_at=10.0)
    crashed = WorkerOverview("h:3:c", "h", 3, 0.0, 10.0, alive=False)
    assert [w.state for w in (beating, stopped, crashed)] == ["alive", "stopped", "silent"]
