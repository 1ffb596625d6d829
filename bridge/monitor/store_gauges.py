"""The store's gauges, read when Prometheus scrapes: queues, lag, pauses, limits, live workers.

Only the admin process serves them (README, Monitoring): the same values from
every web and worker process would add up wrong, and a scrape there would
take a connection the ack or a delivery is waiting for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from bridge.config.settings import AccountSettings, Settings
from bridge.store import gauges
from bridge.store.gauges import COUNTED, AccountGauge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreSnapshot:
    """What the store said at one scrape."""

    counts: list[tuple[str, str, int]]  # (account, status, rows), delivered left out
    earliest_due: Mapping[str, float | None]  # per account, among its waiting rows
    accounts: Mapping[str, AccountGauge]
    workers_alive: int


def read_snapshot(engine: sa.Engine, accounts: list[str], stale_seconds: float) -> StoreSnapshot:
    """Run the gauges' queries in one read transaction."""
    with engine.connect() as connection:
        return StoreSnapshot(
            counts=gauges.activity_counts(connection),
            earliest_due=gauges.earliest_due(connection, accounts),
            accounts=gauges.account_gauges(connection, accounts),
            workers_alive=gauges.workers_alive(connection, stale_seconds),
        )


def families(snapshot: StoreSnapshot, configured: Mapping[str, AccountSettings], now: float) -> list[Metric]:
    """Turn a snapshot into gauge families; every configured account gets every series, zeros included."""
    activities = GaugeMetricFamily(
        "bridge_activities",
        "Activities in the store by account and status (delivered left out).",
        labels=["account", "status"],
    )
    counts = {(name, status.value): 0 for name in configured for status in COUNTED}
    for account, status, rows in snapshot.counts:
        counts[(account, status)] = rows
    for (account, status), rows in sorted(counts.items()):
        activities.add_metric([account, status], rows)
    oldest = GaugeMetricFamily(
        "bridge_oldest_pending_seconds",
        "How long the account's longest-waiting activity has been due (0 with none waiting).",
        labels=["account"],
    )
    paused = GaugeMetricFamily(
        "bridge_account_paused", "1 while the account is paused (a 401, or an operator).", labels=["account"]
    )
    limit = GaugeMetricFamily(
        "bridge_account_limit",
        "Calls per window in force for the account, after any lowering by LeadSquared.",
        labels=["account"],
    )
    for name, settings in sorted(configured.items()):
        due = snapshot.earliest_due.get(name)
        oldest.add_metric([name], 0.0 if due is None else max(0.0, now - due))
        state = snapshot.accounts.get(name, AccountGauge(False, None))
        paused.add_metric([name], 1.0 if state.paused else 0.0)
        configured_limit = settings.calls_per_window
        limit.add_metric([name], min(configured_limit, state.lowered_limit or configured_limit))
    alive = GaugeMetricFamily(
        "bridge_workers_alive", "Worker processes whose heartbeat in the store is recent."
    )
    alive.add_metric([], snapshot.workers_alive)
    return [activities, oldest, paused, limit, alive]


class StoreCollector:
    """A Prometheus collector that reads the store at each scrape."""

    def __init__(self, engine: sa.Engine, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        """Yield the store's gauges, and whether the store could be read for them."""
        readable = GaugeMetricFamily(
            "bridge_store_gauges_ok", "1 if the store answered the gauges' queries at this scrape."
        )
        try:
            snapshot = read_snapshot(
                self.engine, sorted(self.settings.accounts), self.settings.delivery.worker_stale_seconds
            )
        except sa.exc.SQLAlchemyError:
            log.exception("the store's gauges could not be read", extra={"action": "metrics"})
            readable.add_metric([], 0.0)
            yield readable
            return
        yield from families(snapshot, self.settings.accounts, self.clock())
        readable.add_metric([], 1.0)
        yield readable
