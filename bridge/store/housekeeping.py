"""The rows besides events that would only ever grow: deleted in small batches once they are due.

- the look-up cache: a row holds a lead's email or phone in clear, and is of
  no use once it expires (cache_seconds, 15 minutes by default). Each new
  entry's write drops those expired before it; these are the ones left
  behind once look-ups stop (a source disabled, a quiet night);
- alerts that were sent or given up on, and operator jobs that ended, once
  older than retain_events_days, like the events they were about;
- the audit log (operators' actions and logins, refused ones too) once older
  than retain_audit_days.

Each function deletes at most `limit` rows in the caller's transaction, which
the caller keeps short, as retention.py's do.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bridge.store.tables import JobStatus, alert_outbox, audit_log, operator_jobs, opportunity_cache

ENDED_JOB_STATUSES = (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED)
_CACHE_KEY = (
    opportunity_cache.c.account,
    opportunity_cache.c.lead_field,
    opportunity_cache.c.lookup_value,
    opportunity_cache.c.opportunity_type,
)


@dataclass(frozen=True)
class Ages:
    """Rows older than these times are due: records by retain_events_days, the audit log by its own."""

    now: float  # the look-up cache's rows that expired before now
    records_before: float  # alerts and jobs
    audit_before: float


def expired_lookups(now: float) -> sa.ColumnElement[bool]:
    """Return the look-up cache rows that expired before now."""
    return opportunity_cache.c.expires_at < now


def old_alerts(before: float) -> sa.ColumnElement[bool]:
    """Return the alerts made before `before` that were sent or given up on."""
    done = sa.or_(alert_outbox.c.sent_at.is_not(None), alert_outbox.c.gave_up_at.is_not(None))
    return sa.and_(alert_outbox.c.created_at < before, done)


def old_jobs(before: float) -> sa.ColumnElement[bool]:
    """Return the operator jobs that ended before `before`."""
    ended = operator_jobs.c.status.in_([status.value for status in ENDED_JOB_STATUSES])
    return sa.and_(ended, operator_jobs.c.finished_at < before)


def old_audit(before: float) -> sa.ColumnElement[bool]:
    """Return the audit entries written before `before`."""
    return audit_log.c.at < before


def delete_expired_lookups(connection: sa.Connection, now: float, limit: int) -> int:
    """Delete up to limit look-up cache rows that expired; return how many."""
    keys = connection.execute(sa.select(*_CACHE_KEY).where(expired_lookups(now)).limit(limit)).all()
    if not keys:
        return 0
    statement = sa.delete(opportunity_cache).where(
        sa.tuple_(*_CACHE_KEY).in_([tuple(key) for key in keys]), expired_lookups(now)
    )
    return connection.execute(statement).rowcount


def delete_old_alerts(connection: sa.Connection, before: float, limit: int) -> int:
    """Delete up to limit sent or abandoned alerts made before `before`; return how many."""
    return _delete_by_id(connection, alert_outbox, old_alerts(before), limit)


def delete_old_jobs(connection: sa.Connection, before: float, limit: int) -> int:
    """Delete up to limit operator jobs that ended before `before`; return how many."""
    return _delete_by_id(connection, operator_jobs, old_jobs(before), limit)


def delete_old_audit(connection: sa.Connection, before: float, limit: int) -> int:
    """Delete up to limit audit entries written before `before`, oldest first; return how many."""
    return _delete_by_id(connection, audit_log, old_audit(before), limit, order=audit_log.c.at)


@dataclass(frozen=True)
class Due:
    """How many rows of each kind a purge would delete now."""

    lookups: int
    alerts: int
    jobs: int
    audit_entries: int

    @property
    def rows(self) -> int:
        """Return how many rows in all."""
        return self.lookups + self.alerts + self.jobs + self.audit_entries


def count_due(connection: sa.Connection, ages: Ages) -> Due:
    """Count what delete_* would take now, for the purge's dry run."""

    def count(table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
        query = sa.select(sa.func.count()).select_from(table).where(condition)
        return int(connection.execute(query).scalar_one())

    return Due(
        lookups=count(opportunity_cache, expired_lookups(ages.now)),
        alerts=count(alert_outbox, old_alerts(ages.records_before)),
        jobs=count(operator_jobs, old_jobs(ages.records_before)),
        audit_entries=count(audit_log, old_audit(ages.audit_before)),
    )


def _delete_by_id(
    connection: sa.Connection,
    table: sa.Table,
    condition: sa.ColumnElement[bool],
    limit: int,
    order: sa.ColumnElement[float] | None = None,
) -> int:
    query = sa.select(table.c.id).where(condition).order_by(order if order is not None else table.c.id)
    ids = list(connection.execute(query.limit(limit)).scalars())
    if not ids:
        return 0
    return connection.execute(sa.delete(table).where(table.c.id.in_(ids))).rowcount
