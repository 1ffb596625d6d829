"""Post one claimed batch to LeadSquared within the rate limit, and record every row's fate."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from bridge.config.settings import AccountSettings, DeliverySettings
from bridge.leadsquared import outcomes as lsq
from bridge.leadsquared.client import LeadSquaredClient
from bridge.pipeline.retry import GiveUp, decide
from bridge.store import outbox
from bridge.store.accounts import pause_account
from bridge.store.limiter import block_until, reserve_call
from bridge.store.outbox import Batch, ClaimedActivity

log = logging.getLogger(__name__)


class Deliverer:
    """Delivers batches for the accounts it has clients for."""

    def __init__(
        self,
        engine: sa.Engine,
        clients: dict[str, LeadSquaredClient],
        policy: DeliverySettings,
        stopping: threading.Event,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.clients = clients
        self.policy = policy
        self.stopping = stopping
        self.clock = clock

    def wait_for_slot(self, account: AccountSettings, before_send: Callable[[], None] | None = None) -> bool:
        """Reserve a call in the account's window and sleep until it; False if stopping.

        The limiter counts a call at its slot, so the call must leave at its
        slot: when anything (a slow commit, a busy core) made us late, the slot
        is given up and a fresh one reserved, rather than sending out of turn.
        """
        window = account.window_seconds + account.window_margin_seconds
        late_tolerance = account.window_margin_seconds / 2
        while True:
            slot = reserve_call(self.engine, account.name, account.calls_per_window, window, self.clock)
            if self.stopping.wait(max(0.0, slot - self.clock())):
                return False
            if before_send is not None:
                before_send()
                before_send = None
            if self.clock() - slot <= late_tolerance:
                return True

    def deliver(self, batch: Batch) -> None:
        """Post the batch and record the outcome; on shutdown, hand it back unsent."""
        account = self.clients[batch.account].account

        def record_sending() -> None:
            until = self.clock() + self.policy.claim_lease_seconds
            outbox.mark_sending(self.engine, batch, until=until)

        if not self.wait_for_slot(account, before_send=record_sending):
            outbox.reschedule(self.engine, batch.items, self.clock(), None, count_attempt=False)
            return
        rows = [item.request for item in batch.items]
        outcome = self.clients[batch.account].post_activities(batch.opportunity_id, rows)
        self.record(batch, outcome)

    def record(self, batch: Batch, outcome: lsq.Outcome) -> None:
        """Apply one call's outcome to the rows of the batch."""
        now = self.clock()
        account = self.clients[batch.account].account
        fields = {"action": "deliver", "account": batch.account, "rows": len(batch.items)}
        if isinstance(outcome, lsq.Posted):
            self._record_rows(batch, outcome, now)
        elif isinstance(outcome, lsq.BadRequest) and len(batch.items) > 1:
            log.warning("bad request: splitting the batch", extra={**fields, "outcome": "split"})
            middle = len(batch.items) // 2
            for half in (batch.items[:middle], batch.items[middle:]):
                self.deliver(batch.subset(half))
        elif isinstance(outcome, lsq.BadRequest | lsq.Rejected):
            log.error(outcome.message, extra={**fields, "outcome": "dead"})
            outbox.mark_dead(self.engine, batch.items, outcome.message)
        elif isinstance(outcome, lsq.Unauthorized):
            self.pause(batch.account, outcome, fields)
            outbox.reschedule(self.engine, batch.items, now, outcome.message, count_attempt=False)
        elif isinstance(outcome, lsq.RateLimited):
            until = self.hold_off(account, outcome, fields)
            outbox.reschedule(self.engine, batch.items, until, outcome.message, count_attempt=False)
        elif isinstance(outcome, lsq.Retryable):
            self._record_retryable(batch.items, outcome.message, now)
        else:
            log.warning(outcome.message, extra={**fields, "outcome": "unknown"})
            # Read back only after LeadSquared has had time to finish the call.
            outbox.mark_unknown(self.engine, batch.items, outcome.message, now + account.timeout_seconds)

    def _record_rows(self, batch: Batch, outcome: lsq.Posted, now: float) -> None:
        delivered, unknown = [], []
        for number, item in enumerate(batch.items, start=1):
            row = outcome.rows.get(number)
            if row is None:
                unknown.append(item)
            elif row.created:
                delivered.append((item, row.prospect_activity_id or ""))
            else:
                message = f"LeadSquared did not create the activity: {row.message or 'no reason given'}"
                outbox.mark_dead(self.engine, [item], message)
        outbox.mark_delivered(self.engine, delivered, now)
        if unknown:
            outbox.mark_unknown(self.engine, unknown, "LeadSquared's answer left this row out", now)
        log.info(
            "batch posted",
            extra={
                "action": "deliver",
                "account": batch.account,
                "outcome": "posted",
                "delivered": len(delivered),
                "unknown": len(unknown),
                "failed": len(batch.items) - len(delivered) - len(unknown),
            },
        )

    def pause(self, account_name: str, outcome: lsq.Unauthorized, fields: dict[str, object]) -> None:
        """After a 401: stop the account's calls and raise the alarm; a probe resumes it."""
        log.critical(
            "LeadSquared refused the account's keys: deliveries paused until a probe succeeds",
            extra={**fields, "outcome": "paused", "alarm": True},
        )
        now = self.clock()
        pause_account(self.engine, account_name, outcome.message, now + self.policy.probe_interval_seconds)

    def hold_off(
        self, account: AccountSettings, outcome: lsq.RateLimited, fields: dict[str, object]
    ) -> float:
        """After a rate-limit answer: no call for a full window; return when calls may go again."""
        window = outcome.window_seconds or account.window_seconds
        lowered = outcome.limit if outcome.limit and outcome.limit < account.calls_per_window else None
        log.warning(
            "rate limited: waiting a full window",
            extra={**fields, "outcome": "rate_limited", "lowered_limit": lowered},
        )
        until = self.clock() + window + account.window_margin_seconds
        block_until(self.engine, account.name, until, lowered)
        return until

    def _record_retryable(self, items: Sequence[ClaimedActivity], message: str, now: float) -> None:
        log.warning(message, extra={"action": "deliver", "outcome": "retry", "rows": len(items)})
        for item in items:
            decision = decide(item.attempts + 1, item.created_at, now, self.policy)
            if isinstance(decision, GiveUp):
                outbox.mark_dead(self.engine, [item], f"{message}; {decision.reason}")
            else:
                outbox.reschedule(self.engine, [item], decision.at, message, count_attempt=True)
