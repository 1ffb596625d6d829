"""The bridge's Prometheus counters and histograms, defined once for web, pipeline and store to count on.

Labels are bounded: a source or account name from the configuration, a short
code (an outcome, a refusal, a dead row's reason), a call kind. Never an id,
an email or a URL, which would make a series per webhook.

prometheus_client picks how it keeps values when it is first imported: in a
gunicorn worker whose master set PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py),
each increment is a write into a memory-mapped file of that process, which
the /metrics view sums over the processes; elsewhere (the worker, tests) a
float in memory. The store's gauges are read at scrape time instead
(bridge/monitor/store_gauges.py).
"""

from __future__ import annotations

import enum

from prometheus_client import Counter, Histogram

# Seconds from a webhook's first byte in the view to its answer: a few ms, far less under a flood.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# A LeadSquared call answers in about a second, or times out after the account's timeout_seconds.
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# A slot in the account's window: none, or up to a window (5 s), or a 429's hold-off.
WAIT_BUCKETS = (0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# A webhook to its activity in LeadSquared: seconds when all is well, hours after an outage.
END_TO_END_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)


class DeadReason(enum.StrEnum):
    """Why activities went dead, as the bridge_dead_total reason label says it."""

    ROW_REFUSED = "row_refused"  # LeadSquared answered 200 with ActivityCreated false for the row
    BAD_REQUEST = "bad_request"  # a 400 (or a 500 naming bad data) on the row alone, after splitting
    REJECTED = "rejected"  # an answer no retry changes (a permanent refusal)
    GAVE_UP = "gave_up"  # 5xx, timeouts or connection errors past max_attempts or max_age_seconds
    UNSETTLED = "unsettled"  # an unknown outcome that could not be read back in time
    LOOKUP_REFUSED = "lookup_refused"  # LeadSquared refused the look-up of the lead
    LOOKUP_GAVE_UP = "lookup_gave_up"  # the look-up kept failing past the attempts or age


WEBHOOKS = Counter(
    "bridge_webhooks",
    "Webhook deliveries answered, by source and outcome: accepted, duplicate, or the refusal's code.",
    ["source", "outcome"],
)
# Labelled by source although one series would do: a metric without labels gets its series,
# at zero, in every process that imports this module, and only the web answers webhooks.
ACK_SECONDS = Histogram(
    "bridge_ack_seconds",
    "Seconds the receiver took to answer a webhook delivery, by source.",
    ["source"],
    buckets=ACK_BUCKETS,
)
LSQ_CALLS = Counter(
    "bridge_lsq_calls",
    "LeadSquared calls made, by account, kind (delivery, lookup, reconcile, probe) and typed outcome.",
    ["account", "kind", "outcome"],
)
LSQ_CALL_SECONDS = Histogram(
    "bridge_lsq_call_seconds",
    "Seconds a LeadSquared call took, from sending to the answer (or its failure).",
    ["account", "kind"],
    buckets=CALL_BUCKETS,
)
LSQ_ROWS = Counter(
    "bridge_lsq_rows",
    "Activity rows sent in bulk delivery calls, by account and what became of the row "
    "(created, refused, left_out, or the call's outcome when no row answer came).",
    ["account", "outcome"],
)
RATE_LIMIT_WAIT_SECONDS = Histogram(
    "bridge_rate_limit_wait_seconds",
    "Seconds a LeadSquared call waited for its slot in the account's rate window.",
    ["account"],
    buckets=WAIT_BUCKETS,
)
END_TO_END_SECONDS = Histogram(
    "bridge_end_to_end_seconds",
    "Seconds from a webhook's receipt to its activity recorded as delivered in LeadSquared.",
    ["account"],
    buckets=END_TO_END_BUCKETS,
)
DEAD = Counter(
    "bridge_dead",
    "Activities given up on (dead), by account and a short reason code.",
    ["account", "reason"],
)


def count_dead(account: str, reason: DeadReason, rows: int) -> None:
    """Count rows that just went dead, for one account and reason."""
    if rows > 0:
        DEAD.labels(account, reason.value).inc(rows)
