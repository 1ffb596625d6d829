"""What an operator does to one event, activity or account; the console, the API and the CLI call these.

Nothing here ever loses or doubles an activity: a replay transforms the event
again and queues what it yields, but never touches a row that is delivered,
may be in LeadSquared, or is in a worker's hands (bridge/store/requeue.py);
retry and resolve change a row only from the one status they are for. Each
action that goes through writes one audit entry; one refused (OperateError)
changed nothing and writes none. Details name ids, statuses and counts, never
a payload's values: a failed event's reason may quote its payload, so it is
left on the event's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from bridge.leadsquared.activity import Activity
from bridge.observe.masking import mask_text
from bridge.pipeline.transform import event_outcome
from bridge.services import Services
from bridge.store import requeue
from bridge.store.accounts import pause_account, resume_account
from bridge.store.audit import AuditEntry, write_audit
from bridge.store.inbox import StoredEvent
from bridge.store.tables import ActivityStatus, EventStatus, PausedBy, account_state, activities

ResolveHow = Literal["delivered", "repost"]
RESOLVE_WAYS: tuple[ResolveHow, ...] = ("delivered", "repost")


@dataclass(frozen=True)
class Actor:
    """Who acts: "console", "api" or "cli:<user>", and from which client address."""

    name: str
    address: str | None = None


class OperateError(Exception):
    """An action refused; status says why: 400 bad input, 404 no such row or account, 409 wrong state."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ActionResult:
    """What an action did: rows it matched, rows it changed, and in words."""

    action: str
    matched: int
    changed: int
    detail: str


@dataclass(frozen=True)
class Remapped:
    """An event transformed again with the current configuration, not yet queued."""

    event_id: int
    status: EventStatus
    reason: str | None
    activities: list[Activity]


@dataclass(frozen=True)
class Replayed:
    """One event replayed: its new status and reason, and what became of its activities."""

    event_id: int
    status: EventStatus
    reason: str | None
    mapped: int
    requeued: requeue.Requeued


def replay_event(services: Services, event_id: int, actor: Actor, now: float) -> ActionResult:
    """Transform an event again with the current configuration and queue what it yields."""
    state = requeue.load_event(services.engine, event_id)
    if state is None:
        raise OperateError(f"no event {event_id}", 404)
    if state.status is EventStatus.RECEIVED:
        raise OperateError(f"event {event_id} is not transformed yet: a worker will transform it", 409)
    if not state.event.body:
        raise OperateError(f"event {event_id} cannot be replayed: its payload was erased", 409)
    remapped = remap(services, state.event)
    with services.engine.begin() as connection:
        replayed = queue_remapped(connection, remapped, now)
    result = ActionResult("replay", replayed.mapped, replayed.requeued.changed, describe_replay(replayed))
    audit(services.engine, actor, result, str(event_id), now)
    return result


def remap(services: Services, event: StoredEvent) -> Remapped:
    """Transform a stored event again with the current configuration; nothing is written."""
    status, reason, mapped = event_outcome(services, event)
    return Remapped(event.id, status, reason, mapped)


def queue_remapped(connection: sa.Connection, remapped: Remapped, now: float) -> Replayed:
    """Queue a remapped event's activities and record its new status, in the caller's transaction."""
    queued = requeue.requeue(connection, remapped.event_id, remapped.activities, now)
    requeue.set_event_outcome(connection, remapped.event_id, remapped.status, remapped.reason)
    return Replayed(remapped.event_id, remapped.status, remapped.reason, len(remapped.activities), queued)


def describe_replay(replayed: Replayed) -> str:
    """Say in words what a replay did, without the reason's words where they may quote the payload."""
    event = f"event {replayed.event_id}"
    if replayed.status is EventStatus.IGNORED:
        # The type is the provider's text: masked, as the stored reason is, should it hold an identifier.
        head = f"{event} is ignored: {mask_text(replayed.reason or '')}"
    elif replayed.status is EventStatus.FAILED:
        head = f"{event} failed to map again; its reason is on the event's page"
    else:
        noun = "activity" if replayed.mapped == 1 else "activities"
        head = f"{event} maps to {replayed.mapped} {noun}"
    queued = replayed.requeued
    if not replayed.mapped:
        return head
    return (
        f"{head}: {queued.added} queued new, {queued.replaced} queued again, "
        f"{queued.kept} left as they were (delivered, or possibly in LeadSquared, or being worked on)"
    )


def retry_activity(engine: sa.Engine, activity_id: int, actor: Actor, now: float) -> ActionResult:
    """Make a dead activity due now with its attempts reset."""
    with engine.begin() as connection:
        changed = requeue.retry_dead(connection, activities.c.id == activity_id, now)
    if not changed:
        _refuse(engine, activity_id, ActivityStatus.DEAD, "retry")
    result = ActionResult("retry", 1, 1, f"activity {activity_id} is due again, its attempts reset")
    audit(engine, actor, result, str(activity_id), now)
    return result


def resolve_activity(
    engine: sa.Engine, activity_id: int, how: ResolveHow, actor: Actor, now: float
) -> ActionResult:
    """Settle an unknown activity: it is in LeadSquared (delivered), or it is not (repost)."""
    if how not in RESOLVE_WAYS:
        raise OperateError(f"how: one of {', '.join(RESOLVE_WAYS)}, not {how!r}", 400)
    with engine.begin() as connection:
        changed = requeue.settle_unknown(connection, activities.c.id == activity_id, how, now)
    if not changed:
        _refuse(engine, activity_id, ActivityStatus.UNKNOWN, "resolve")
    settled = "marked delivered" if how == "delivered" else "due to be posted again now"
    result = ActionResult("resolve", 1, 1, f"activity {activity_id} {settled}")
    audit(engine, actor, result, str(activity_id), now)
    return result


def pause(services: Services, account: str, actor: Actor, now: float) -> ActionResult:
    """Hold an account's deliveries until an operator resumes it; nothing queued is dropped."""
    _known_account(services, account)
    already = _paused_by(services.engine, account) == PausedBy.OPERATOR
    probe_after = services.settings.delivery.probe_interval_seconds
    pause_account(
        services.engine, account, f"paused by an operator ({actor.name})", probe_after, PausedBy.OPERATOR
    )
    detail = f"{account} was already paused by an operator" if already else f"{account} paused"
    result = ActionResult("pause", 1, 0 if already else 1, detail)
    audit(services.engine, actor, result, account, now)
    return result


def resume(services: Services, account: str, actor: Actor, now: float) -> ActionResult:
    """Let an account's deliveries go again, whoever paused it; the limiter paces the backlog."""
    _known_account(services, account)
    was_paused = resume_account(services.engine, account, operator=True)
    detail = f"{account} resumed" if was_paused else f"{account} was not paused"
    result = ActionResult("resume", 1, int(was_paused), detail)
    audit(services.engine, actor, result, account, now)
    return result


def audit(
    engine: sa.Engine, actor: Actor, result: ActionResult, target: str, now: float, rows: int | None = None
) -> None:
    """Write the audit entry of an action that went through: rows it changed, unless rows says otherwise."""
    entry = AuditEntry(
        at=now,
        actor=actor.name,
        action=result.action,
        target=target,
        rows=result.changed if rows is None else rows,
        detail=result.detail,
        address=actor.address,
    )
    write_audit(engine, entry)


def _refuse(engine: sa.Engine, activity_id: int, wanted: ActivityStatus, action: str) -> None:
    """Raise the refusal of an action that changed nothing: no such activity, or the wrong status."""
    status = requeue.activity_status(engine, activity_id)
    if status is None:
        raise OperateError(f"no activity {activity_id}", 404)
    if status is wanted:
        message = f"cannot {action} activity {activity_id}: its event's payload was erased, nothing to post"
        raise OperateError(message, 409)
    raise OperateError(
        f"cannot {action} activity {activity_id}: it is {status.value}, not {wanted.value}", 409
    )


def _known_account(services: Services, account: str) -> None:
    if account not in services.settings.accounts:
        raise OperateError(f"no account {account!r} in the configuration", 404)


def _paused_by(engine: sa.Engine, account: str) -> str | None:
    query = sa.select(account_state.c.paused_by).where(
        account_state.c.account == account, account_state.c.paused
    )
    with engine.connect() as connection:
        paused_by: str | None = connection.execute(query).scalar_one_or_none()
    return paused_by
