"""The worker process: transform received events, look up opportunities, deliver and reconcile."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from bridge.config.load import ConfigError, credential_problems, erasure_key_problems
from bridge.leadsquared.client import LeadSquaredClient
from bridge.pipeline.deliver import deliver
from bridge.pipeline.gate import Gate
from bridge.pipeline.heartbeat import Heartbeat
from bridge.pipeline.reconcile import reconcile
from bridge.pipeline.resolve import resolve
from bridge.pipeline.transform import transform_received
from bridge.services import Services
from bridge.store import lookups, outbox
from bridge.store.accounts import AccountStore, accounts_due_for_probe
from bridge.store.calls import CallHistory
from bridge.store.claims import Batch, LookupClaim, release_expired
from bridge.store.inbox import events_awaiting_transform
from bridge.store.statistics import analyze_changed
from bridge.store.tables import ActivityStatus
from bridge.store.wake import Doorbell, watcher_for

log = logging.getLogger(__name__)
SWEEP_INTERVAL_SECONDS = 1.0
# How often the worker asks whether a table changed enough to gather statistics again:
# one read of PostgreSQL's counters, so that a backlog's arrival is noticed within a minute.
STATISTICS_INTERVAL_SECONDS = 60.0
# Transforms before the next claims: about one rate window. Cut shorter, a backlog that
# several workers transform at once on busy cores was claimed half-transformed, and its
# opportunities went out in two calls each (python -m bench.workers --postgres: 105-124
# calls for 100 with 2 s); longer, a flood would hold new claims back for longer.
TRANSFORM_BUDGET_SECONDS = 5.0
# How often a worker looks whether the events other workers are transforming are done.
OTHERS_TRANSFORM_POLL_SECONDS = 0.02
TRANSFORM_BATCH = 200  # received events transformed in one transaction


def delivery_clients(services: Services) -> dict[str, LeadSquaredClient]:
    """Return a client per account that an enabled source posts to; refuse missing keys."""
    problems = credential_problems(services.settings)
    if problems:
        raise ConfigError(problems)
    used = sorted({s.account for s in services.settings.sources.values() if s.enabled})
    return {name: LeadSquaredClient(services.settings.accounts[name]) for name in used}


class Chore(Protocol):
    """Work a layer above the pipeline gives the worker, done a little each round (operators' bulk jobs)."""

    def run_some(self, now: float) -> bool:
        """Do a short piece of the work; return whether there was any."""


@runtime_checkable
class ClosingChore(Chore, Protocol):
    """A chore with something to stop when the worker stops (a thread of its own)."""

    def close(self) -> None:
        """Stop what the chore started; called once the worker's loop is over."""


# Builds a chore for one worker, from the services and the worker's id (which it claims work by).
ChoreFactory = Callable[[Services, str], Chore]


class Worker:
    """Runs the pipeline after the receiver until asked to stop."""

    def __init__(
        self,
        services: Services,
        clock: Callable[[], float] = time.time,
        chores: Sequence[ChoreFactory] = (),
    ) -> None:
        # Without the key, events would be transformed with no keyed hashes: erasure could not find them.
        problems = erasure_key_problems(services.settings)
        if problems:
            raise ConfigError(problems)
        self.services = services
        self.clock = clock
        host, pid = socket.gethostname(), os.getpid()
        self.worker_id = f"{host}:{pid}:{uuid.uuid4().hex[:8]}"
        self.chores = [make(services, self.worker_id) for make in chores]
        self.stopping = threading.Event()
        controls = AccountStore(services.engine)
        policy = services.settings.delivery
        self.heartbeat = Heartbeat(services.engine, self.worker_id, host, pid, policy)
        history = CallHistory(services.engine)
        self.gates = {
            name: Gate(client, controls, policy, self.stopping, clock, self.heartbeat.fresh, history)
            for name, client in delivery_clients(services).items()
        }
        # A row taken mid-call from a worker counted dead by its heartbeat is read back only once
        # a call it may still have in flight is over: it started one at least a heartbeat before
        # going stale (see heartbeat.may_start_calls), and a call lasts the account's timeout at most.
        timeouts = [gate.account.timeout_seconds for gate in self.gates.values()]
        self.read_back_delay = max(0.0, max(timeouts, default=0.0) - policy.heartbeat_seconds)
        # More calls in flight than the window allows would only queue on the limiter.
        self.capacity = {
            name: min(gate.account.max_in_flight, gate.account.calls_per_window)
            for name, gate in self.gates.items()
        }
        self.in_flight: Counter[str] = Counter()
        self.changed = threading.Condition()
        # Rung when the store says a webhook was stored; see bridge/store/wake.py.
        self.doorbell = Doorbell(self.changed)
        self.watcher = watcher_for(services.engine, policy.wake, self.doorbell)
        self.next_sweep = 0.0
        self.next_statistics = 0.0

    def stop(self) -> None:
        """Stop claiming; in-flight calls finish, waiting ones are handed back."""
        self.stopping.set()
        # A ring, not a bare notify: one that lands just before the loop starts waiting is kept.
        self.doorbell.ring()

    def run(self) -> None:
        """Work until stop() is called, then wait for in-flight batches."""
        # The settings' count, which the store's pool is sized by (Settings.worker_pool_size).
        workers = self.services.settings.delivery_threads()
        self.heartbeat.start()
        log.info("worker started", extra={"action": "start", "worker": self.worker_id})
        self.watcher.start()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver") as pool:
            while not self.stopping.is_set():
                try:
                    busy = self.step(pool)
                except sa.exc.SQLAlchemyError:
                    # A lost database connection or a failover: the pool replaces
                    # the connection; nothing claimed is lost, claims just expire.
                    log.exception("store unavailable: retrying", extra={"action": "store_error"})
                    busy = False
                    self.stopping.wait(1.0)
                if not busy:
                    # Until the store's watcher rings, a batch finishes, or the poll (the fallback) is due.
                    self.doorbell.wait(self.poll_timeout())
        self.watcher.stop()
        for chore in self.chores:
            if isinstance(chore, ClosingChore):
                chore.close()
        # Everything is handed back by now; a crash instead leaves the heartbeat to go stale.
        self.heartbeat.stop()
        log.info("worker stopped", extra={"action": "stop", "worker": self.worker_id})

    def poll_timeout(self) -> float:
        """Return how long to wait for a ring: longer while the store's watcher listens."""
        policy = self.services.settings.delivery
        return self.watcher.poll_timeout(policy.poll_interval_seconds, policy.notified_poll_interval_seconds)

    def step(self, pool: ThreadPoolExecutor) -> bool:
        """Do one round of every stage; return whether anything moved."""
        now = self.clock()
        transformed = self.transform_all(now)
        # Dispatch in the same round: what was just transformed is due now.
        dispatched = self.dispatch(pool)
        # After the claims: a chore's short piece never holds up a delivery that is due.
        chored = self.run_chores(self.clock())
        # The sweep comes last, so that the webhook which woke the worker is not kept waiting by it;
        # what it takes back is claimed in the next round, at once.
        released = unknown = 0
        if now >= self.next_sweep:
            self.next_sweep = now + SWEEP_INTERVAL_SECONDS
            stale = self.services.settings.delivery.worker_stale_seconds
            released, unknown = release_expired(self.services.engine, now, stale, self.read_back_delay)
            if released or unknown:
                log.warning(
                    "took back the claims of dead workers",
                    extra={"action": "release", "released": released, "unknown": unknown},
                )
            self.probe_paused_accounts()
        if now >= self.next_statistics:
            self.next_statistics = now + STATISTICS_INTERVAL_SECONDS
            self.refresh_statistics()
        return bool(transformed or dispatched or released or unknown or chored)

    def transform_all(self, now: float, budget_seconds: float = TRANSFORM_BUDGET_SECONDS) -> int:
        """Transform received events until none are left or the budget is spent.

        Events another worker is transforming (locked, so skipped here) are
        waited for within the budget: delivering before their activities land
        would post an opportunity's rows in two calls where one would do.
        """
        total = 0
        while not self.stopping.is_set():
            handled = transform_received(self.services, now, TRANSFORM_BATCH)
            total += handled
            if self.clock() - now > budget_seconds:
                break
            if handled == TRANSFORM_BATCH:
                continue
            # Fewer than a full batch: none this worker could take were left a moment ago.
            # Events other workers hold are waited for; with none, skip the empty round.
            if not events_awaiting_transform(self.services.engine):
                break
            self.stopping.wait(OTHERS_TRANSFORM_POLL_SECONDS)
        return total

    def dispatch(self, pool: ThreadPoolExecutor) -> int:
        """Claim work while accounts have room in flight; return how many claims.

        Each round claims one look-up and one batch, so a backlog of either
        never starves the other; both then queue on the same account limiter.
        """
        dispatched = 0
        # A worker that cannot write its heartbeat may be counted dead: it claims nothing until it can.
        while not self.stopping.is_set() and self.heartbeat.fresh():
            claimed = 0
            for claim in (self._claim_lookup, self._claim_batch):
                work = claim()
                if work is not None:
                    with self.changed:
                        self.in_flight[work.account] += 1
                    pool.submit(self._handle, work)
                    claimed += 1
            if claimed == 0:
                return dispatched
            dispatched += claimed
        return dispatched

    def _free(self) -> list[str]:
        with self.changed:
            return [name for name, room in self.capacity.items() if self.in_flight[name] < room]

    def _claim_lookup(self) -> LookupClaim | None:
        lease = self.services.settings.delivery.claim_lease_seconds
        return lookups.claim_lookup(self.services.engine, self.worker_id, self.clock(), lease, self._free())

    def _claim_batch(self) -> Batch | None:
        free = self._free()
        now = self.clock()
        lease = self.services.settings.delivery.claim_lease_seconds
        with_keys = [n for n in free if self.gates[n].account.key_field]
        return outbox.claim_unknown(
            self.services.engine, self.worker_id, now, lease, with_keys
        ) or outbox.claim_batch(self.services.engine, self.worker_id, now, lease, free)

    def _handle(self, work: Batch | LookupClaim) -> None:
        try:
            gate, engine = self.gates[work.account], self.services.engine
            if isinstance(work, LookupClaim):
                resolve(gate, engine, work)
            elif work.status == ActivityStatus.RECONCILING:
                reconcile(gate, engine, work)
            else:
                deliver(gate, engine, work)
        except Exception:
            # The claim expires and is taken again; nothing is lost or marked delivered.
            log.exception("work failed unexpectedly", extra={"action": "deliver", "account": work.account})
        finally:
            with self.changed:
                self.in_flight[work.account] -= 1
                self.changed.notify_all()

    def run_chores(self, now: float) -> bool:
        """Give each chore its piece of this round; return whether any did something."""
        busy = False
        for chore in self.chores:
            try:
                busy = chore.run_some(now) or busy
            except sa.exc.SQLAlchemyError:
                raise  # the store's trouble: the loop waits it out, as for every stage
            except Exception:
                log.exception("a chore failed", extra={"action": "chore", "chore": type(chore).__name__})
        return busy

    def refresh_statistics(self) -> None:
        """Gather the planner's statistics again for tables that changed much (PostgreSQL)."""
        analyzed = analyze_changed(self.services.engine)
        if analyzed:
            log.info("gathered statistics", extra={"action": "analyze", "tables": ",".join(analyzed)})

    def probe_paused_accounts(self) -> None:
        """Check the keys of paused accounts; resume those LeadSquared accepts again."""
        for name in accounts_due_for_probe(self.services.engine):
            gate = self.gates.get(name)
            if gate is not None:
                gate.probe()
