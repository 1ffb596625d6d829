"""The store's schema: inbox, outbox, limiter, account state, look-up cache, workers, operator history.

Times are float seconds since the epoch, so that SQLite and PostgreSQL compare
them the same way and the rate limiter can reason in fractions of a second.
The migrations in bridge/store/migrations create exactly these tables.
"""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa

from bridge.observe.masking import mask_text

metadata = sa.MetaData()
# Characters of a reason or last error kept: any reason an operator needs, and an index
# entry PostgreSQL's btree still takes (at most 4 bytes a character, under its ~2.7 KB).
MAX_OPERATOR_TEXT = 500


class OperatorText(sa.types.TypeDecorator[str]):
    """Text an operator reads (a reason, a last error, LeadSquared's message): masked and cut when stored.

    Every write and every comparison goes through the same masking, so an
    exact filter on a stored reason matches, a link to its group carries no
    email, phone or PAN, and the column can be indexed.
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        """Return the value as it is stored: masked, at most MAX_OPERATOR_TEXT characters."""
        return None if value is None else mask_text(str(value))[:MAX_OPERATOR_TEXT]


# BIGINT on PostgreSQL; SQLite only auto-increments a column typed INTEGER.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class EventStatus(enum.StrEnum):
    """Where an accepted webhook is in the pipeline."""

    RECEIVED = "received"  # stored and acked, not yet transformed
    TRANSFORMED = "transformed"  # its activities are in the outbox
    IGNORED = "ignored"  # an event type nobody mapped
    FAILED = "failed"  # could not be mapped; `reason` says why


class PayloadErasure(enum.StrEnum):
    """Why an event's raw body and headers were erased (its id, key, status and times stay)."""

    RETENTION = "retention"  # it was finished and older than its source's retain_payload_days
    ERASURE = "erasure"  # a person asked: an operator erased their data
    # Erased on request while some of its activities were still in flight: they keep their
    # request until they finish, then the purge erases those too and sets ERASURE.
    ERASURE_PENDING = "erasure_pending"


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
    sa.Column("reason", OperatorText),
    # The delivery's headers as a JSON object, signature and token values masked before storing
    # (bridge/sources/headers.py): what an operator sees of how it came, never a credential.
    sa.Column("headers", sa.JSON),
    # Set when body (then empty) and headers (then NULL) were erased, and why (PayloadErasure).
    sa.Column("payload_erased_at", sa.Float),
    sa.Column("payload_erasure", sa.String(16)),
    sa.UniqueConstraint("source", "idempotency_key", name="uq_events_source_key"),
    sa.Index("ix_events_status_id", "status", "id"),
    # The console's source and time filters, walked newest first and cut at a page (keyset).
    # Each index costs every webhook's insert, so a key is found through the unique index
    # with the source named (all configured sources where none is), and a type by scanning.
    sa.Index("ix_events_source_id", "source", "id"),
    sa.Index("ix_events_received_at", "received_at"),
)
# Needs attention: failed and ignored events grouped by reason, a small part of the table.
# SQLite uses a partial index only for a query naming the same statuses, in this order.
ATTENTION_EVENT_STATUSES = ("failed", "ignored")
sa.Index(
    "ix_events_attention",
    events.c.status,
    events.c.reason,
    events.c.received_at,
    sqlite_where=events.c.status.in_(ATTENTION_EVENT_STATUSES),
    postgresql_where=events.c.status.in_(ATTENTION_EVENT_STATUSES),
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
    sa.Column("last_error", OperatorText),
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
    # The console: an opportunity's activities whatever their account, and a status's newest first.
    sa.Index("ix_activities_opportunity_id", "opportunity_id"),
    sa.Index("ix_activities_status_id", "status", "id"),
)
# The overview's count of what each account delivered lately; only delivered rows are in it.
sa.Index(
    "ix_activities_delivered",
    activities.c.delivered_at,
    activities.c.account,
    sqlite_where=activities.c.status == "delivered",
    postgresql_where=activities.c.status == "delivered",
)
# The purge's search for payloads due (bridge/store/retention.py): per source, oldest first,
# only events that still hold one, so erased history is never walked again.
sa.Index(
    "ix_events_payload_due",
    events.c.source,
    events.c.received_at,
    sqlite_where=events.c.payload_erased_at.is_(None),
    postgresql_where=events.c.payload_erased_at.is_(None),
)
sa.Index(
    "ix_events_erasure_pending",
    events.c.id,
    sqlite_where=events.c.payload_erasure == PayloadErasure.ERASURE_PENDING.value,
    postgresql_where=events.c.payload_erasure == PayloadErasure.ERASURE_PENDING.value,
)
# The statuses no worker moves a row out of on its own (an operator may: retry, replay).
# Any other, a status added later included, counts as still in flight.
FINAL_ACTIVITY_STATUSES = ("delivered", "dead", "unresolved")

ATTENTION_ACTIVITY_STATUSES = ("dead", "unknown", "unresolved")
sa.Index(
    "ix_activities_attention",
    activities.c.status,
    activities.c.last_error,
    activities.c.created_at,
    sqlite_where=activities.c.status.in_(ATTENTION_ACTIVITY_STATUSES),
    postgresql_where=activities.c.status.in_(ATTENTION_ACTIVITY_STATUSES),
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
    # Who paused it (PausedBy) and when, on the database's clock: an operator's pause is
    # never lifted by a probe, only by a resume.
    sa.Column("paused_by", sa.String(16)),
    sa.Column("paused_at", sa.Float),
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


class PausedBy(enum.StrEnum):
    """Who paused an account."""

    LEADSQUARED = "leadsquared"  # a 401: probes resume it once the keys are accepted again
    OPERATOR = "operator"  # a person: only a resume lets deliveries go again


class CallKind(enum.StrEnum):
    """What a LeadSquared call was for."""

    DELIVERY = "delivery"  # a bulk post of up to 25 activities
    LOOKUP = "lookup"  # a search for a lead or its opportunity
    RECONCILE = "reconcile"  # a read of an opportunity's activities, to settle unknown ones
    PROBE = "probe"  # a check of a paused account's keys


# Every call made to LeadSquared, written after its answer: what an activity's
# timeline, the console's counts and the metrics read. No URL, header or key.
lsq_calls = sa.Table(
    "lsq_calls",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # CallKind
    sa.Column("opportunity_id", sa.String(255)),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("duration_seconds", sa.Float, nullable=False),
    # Time the call spent waiting for its slot in the account's window before it left.
    sa.Column("waited_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("http_status", sa.Integer),  # None: no answer came
    sa.Column("outcome", sa.String(32), nullable=False),  # the typed outcome, e.g. posted, rate_limited
    sa.Column("reaction", sa.String(16), nullable=False),  # what the bridge did about it (gate.Reaction)
    sa.Column("exception_type", sa.String(255)),
    sa.Column("message", OperatorText),
    sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_lsq_calls_account_started", "account", "started_at"),
    sa.Index("ix_lsq_calls_started", "started_at"),
)

# Which activities rode in each call, with LeadSquared's answer for that row.
lsq_call_activities = sa.Table(
    "lsq_call_activities",
    metadata,
    sa.Column("call_id", Id, sa.ForeignKey("lsq_calls.id"), primary_key=True, autoincrement=False),
    sa.Column("activity_id", Id, sa.ForeignKey("activities.id"), primary_key=True, autoincrement=False),
    # The ProspectActivityId of a created row, or LeadSquared's message for a row it refused
    # (masked: it may quote the value it refused, and outlives the payload's erasure).
    sa.Column("result", OperatorText),
    sa.Index("ix_lsq_call_activities_activity", "activity_id"),
)

# Each repeat of an accepted delivery: when it came. The event itself is stored once.
event_duplicates = sa.Table(
    "event_duplicates",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("event_id", Id, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Index("ix_event_duplicates_event", "event_id"),
    sa.Index("ix_event_duplicates_source_at", "source", "received_at"),
)

# The keyed hash (bridge/observe/identifiers.py) of each email, phone and PAN an event's
# payload carries, recorded at its transform: how an erasure finds a person's events.
identifier_hashes = sa.Table(
    "identifier_hashes",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("event_id", Id, sa.ForeignKey("events.id"), primary_key=True, autoincrement=False),
    sa.Index("ix_identifier_hashes_event", "event_id"),
)

# Refused deliveries to configured sources, counted per minute and reason code: a
# flood of bad signatures adds to a count, never a row per request.
intake_refusals = sa.Table(
    "intake_refusals",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("minute", sa.Float, primary_key=True),  # the minute's start, seconds since the epoch
    sa.Column("error", sa.String(64), primary_key=True),  # the refusal's code, e.g. bad_signature
    sa.Column("count", sa.Integer, nullable=False),
)

# Every operator action and login, from the console, the API or the command line.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # "console", "api" or "cli:<user>"
    sa.Column("address", sa.String(64)),  # the client address of a console or API request
    sa.Column("action", sa.String(32), nullable=False),  # replay, retry, resolve, pause, login_failed, ...
    sa.Column("target", sa.Text),  # an id, an account, or the filter as a query string
    sa.Column("rows", sa.Integer),
    sa.Column("detail", sa.Text),
    sa.Index("ix_audit_log_action_address_at", "action", "address", "at"),
    sa.Index("ix_audit_log_at", "at"),
)


class JobStatus(enum.StrEnum):
    """Where an operator's bulk action is."""

    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # a worker works through it in chunks, cursor after cursor
    DONE = "done"  # every matching row was handled
    CANCELLED = "cancelled"  # stopped on request; the rows handled before stay handled
    FAILED = "failed"  # stopped by an error; `error` says which


# Bulk actions by filter, run by a worker in chunks that each move the cursor.
operator_jobs = sa.Table(
    "operator_jobs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("filter", sa.JSON, nullable=False),
    sa.Column("requested_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),  # rows that matched when it was asked for
    sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cursor", Id),  # the last row id handled; the next chunk starts after it
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("claimed_by", sa.String(128)),
    sa.Column("claim_expires_at", sa.Float),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("error", sa.Text),
    sa.Index("ix_operator_jobs_status_id", "status", "id"),
)

# Each alert condition's state per subject (an account, or "workers"): an alert goes out only
# when `active` flips, by a conditional update, so every evaluator on every machine sends it once.
alert_state = sa.Table(
    "alert_state",
    metadata,
    sa.Column("condition", sa.String(32), primary_key=True),  # bridge.alerts.conditions.Condition
    sa.Column("subject", sa.String(64), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("since", sa.Float),  # when the condition began (while active), on the database's clock
    sa.Column("changed_at", sa.Float, nullable=False),  # the last start or clear
    sa.Column("rows", sa.Integer),  # the rows it concerned when it last changed
    # Bumped by every change: a change is written only over the version its evaluator read, so an
    # evaluator that read before another's change cannot undo it with what it saw.
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
)

# Alerts to post, written in the transaction that changed their condition's state; a sender
# thread posts them outside any transaction, retrying with backoff, oldest first per condition.
alert_outbox = sa.Table(
    "alert_outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("condition", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # "started" or "resolved"
    sa.Column("body", sa.JSON, nullable=False),  # the Slack-compatible payload, masked, no URL or key
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("claimed_by", sa.String(128)),
    sa.Column("claim_expires_at", sa.Float, nullable=False, server_default="0"),
    sa.Column("sent_at", sa.Float),
    sa.Column("gave_up_at", sa.Float),
    sa.Column("last_error", OperatorText),  # "HTTP 500", "Timeout": never the URL
    sa.Index("ix_alert_outbox_unsent", "sent_at", "gave_up_at", "id"),
)
