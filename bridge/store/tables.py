"""The store's schema: inbox (events), outbox (activities), limiter, account state, look-up cache, workers.

Times are float seconds since the epoch, so that SQLite and PostgreSQL compare
them the same way and the rate limiter can reason in fractions of a second.
The migrations in bridge/store/migrations create exactly these tables.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

metadata = sa.MetaData()

# BIGINT on PostgreSQL; SQLite only auto-increments a column typed INTEGER.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class EventStatus(enum.StrEnum):
    """Where an accepted webhook is in the pipeline."""

    RECEIVED = "received"  # stored and acked, not yet transformed
    TRANSFORMED = "transformed"  # its activities are in the outbox
    IGNORED = "ignored"  # an event type nobody mapped
    FAILED = "failed"  # could not be mapped; `reason` says why


class ActivityStatus(enum.StrEnum):
    """Where one LeadSquared activity is in delivery."""

    RESOLVING = "resolving"  # waits for its opportunity id to be looked up, at next_attempt_at
    LOOKING_UP = "looking_up"  # a worker is searching LeadSquared for its opportunity
    UNRESOLVED = "unresolved"  # the lead or opportunity was not found in time; last_error says which
    PENDING = "pending"  # due at next_attempt_at
    CLAIMED = "claimed"  # a worker holds it and has not posted it yet
    SENDING = "sending"  # posted, answer not yet recorded: a crash here is an unknown outcome
    DELIVERED = "delivered"  # LeadSquared created it (prospect_activity_id)
    UNKNOWN = "unknown"  # may or may not exist in LeadSquared; reconciled before any repost
    RECONCILING = "reconciling"  # a worker is reading the opportunity back to settle it
    DEAD = "dead"  # given up on; last_error says why


events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("event_type", sa.String(255)),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.UniqueConstraint("source", "idempotency_key", name="uq_events_source_key"),
    sa.Index("ix_events_status_id", "status", "id"),
)

activities = sa.Table(
    "activities",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("event_id", Id, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("activity_key", sa.String(400), nullable=False, unique=True),
    sa.Column("account", sa.String(64), nullable=False),
    # NULL until a look-up finds it, for activities whose source gives opportunity_lookup.
    sa.Column("opportunity_id", sa.String(255)),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("claimed_by", sa.String(128)),
    sa.Column("claim_expires_at", sa.Float),
    sa.Column("prospect_activity_id", sa.String(64)),
    sa.Column("delivered_at", sa.Float),
    sa.Column("last_error", sa.Text),
    # A bridge.leadsquared.activity.LeadLookup as JSON, and its key: rows awaiting one lead share a search.
    sa.Column("lookup", sa.JSON),
    sa.Column("lookup_key", sa.String(64)),
    # The claims' indexes (bridge/store/claims.py): each claim query walks one of
    # them in its ORDER BY and stops at its LIMIT, however many rows are due, and
    # finished rows sit under other status values, out of the way. The trailing
    # id is the tie-break the queries order by (SQLite has it as the rowid anyway).
    # A claim's first due row, per account: status, account, oldest next_attempt_at.
    sa.Index("ix_activities_due", "status", "account", "next_attempt_at", "id"),
    # The rows claimed with it: one opportunity's, or one look-up's, oldest first.
    sa.Index("ix_activities_opportunity", "account", "opportunity_id", "status", "id"),
    sa.Index("ix_activities_event", "event_id"),
    sa.Index("ix_activities_lookup", "account", "lookup_key", "status", "id"),
)

# Opportunity ids found by look-ups, shared by every worker process until expires_at.
opportunity_cache = sa.Table(
    "opportunity_cache",
    metadata,
    sa.Column("account", sa.String(64), primary_key=True),
    sa.Column("lead_field", sa.String(64), primary_key=True),
    sa.Column("lookup_value", sa.Text, primary_key=True),  # any length a unique lead field holds
    sa.Column("opportunity_type", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("opportunity_id", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# One row per call reserved: the sliding log behind the account rate limiter.
rate_calls = sa.Table(
    "rate_calls",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_rate_calls_account_at", "account", "at"),
)

account_state = sa.Table(
    "account_state",
    metadata,
    sa.Column("account", sa.String(64), primary_key=True),
    # Lowered by a rate-limit answer that names the account's real limit, until
    # lowered_until: a plan upgrade should not need anyone to edit the database.
    sa.Column("calls_per_window", sa.Integer),
    sa.Column("lowered_until", sa.Float, nullable=False, server_default="0"),
    # No call may be reserved before this time (after a 429).
    sa.Column("blocked_until", sa.Float, nullable=False, server_default="0"),
    # Set by a 401: no deliveries until a probe succeeds.
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("paused_reason", sa.Text),
    sa.Column("next_probe_at", sa.Float, nullable=False, server_default="0"),
)

# One row per worker process, its heartbeat written by the database's clock
# (bridge.store.dialect.server_now): a claim whose owner stopped beating is taken back.
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("worker_id", sa.String(128), primary_key=True),  # host:pid:random, as claimed_by holds it
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("beat_at", sa.Float, nullable=False),
    sa.Column("stopped_at", sa.Float),  # set by a clean stop; NULL while running or after a crash
    sa.Index("ix_workers_beat_at", "beat_at"),
)
