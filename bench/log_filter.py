"""What the redaction filter costs a log line, by kind of line, here and at another commit, in turn.

    .venv/bin/python -m bench.log_filter [--base main] [--records 20000]

Each record is run through RedactingFilter.filter (three secrets configured,
as a process has), its message and fields reset before every call; the time
of the resets alone is taken off. With --base, that commit's
bridge/observe/logs.py is loaded beside this checkout's and the two are
timed in turn, line by line, best of seven runs each, so that a machine
busy with other work slows both alike. The lines are the ones the processes
write most: a refused webhook (the ack path's WARNING), a transform and a
delivery (the worker's INFO), and a LeadSquared answer that quotes an email,
a phone and a PAN.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.checkout import git
from bridge.observe import logs

SECRETS = ("test-razorpay-secret", "u$rsandbox-access", "sandbox-secret-key")
LINES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "refused webhook",
        "the X-Razorpay-Signature header does not match the body under any configured secret",
        {"action": "reject", "source": "razorpay", "reason": "bad_signature"},
    ),
    (
        "transform",
        "queued 1 activities",
        {"action": "transform", "source": "razorpay", "event_id": 41234, "outcome": "transformed"},
    ),
    (
        "delivery",
        "batch posted",
        {"action": "deliver", "account": "main", "rows": 25, "outcome": "posted", "delivered": 25},
    ),
    (
        "answer quoting personal data",
        "LeadSquared answered 500: Could not save asha.rao@example.com (PAN ABCPE1234K, +91 98765 43210)",
        {"action": "deliver", "account": "main", "rows": 1, "outcome": "retry"},
    ),
)


def logs_at(revision: str) -> ModuleType:
    """Load bridge/observe/logs.py as it is at a commit, beside this checkout's."""
    source = git("show", f"{revision}:bridge/observe/logs.py")
    path = Path(tempfile.mkdtemp()) / "base_logs.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("base_logs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def microseconds(step: Callable[[], object], records: int) -> float:
    """Return the best of seven runs' time per call of step, in microseconds."""
    best = float("inf")
    for _ in range(7):
        started = time.perf_counter()
        for _ in range(records):
            step()
        best = min(best, time.perf_counter() - started)
    return best / records * 1e6


def filter_cost(redactor: logging.Filter, message: str, extra: dict[str, Any], records: int) -> float:
    """Return the microseconds the filter takes on one record, the record's reset taken off."""
    record = logging.makeLogRecord({"msg": message, "levelno": logging.WARNING, **extra})

    def reset() -> None:
        record.msg, record.args = message, None
        record.__dict__.update(extra)

    def reset_and_filter() -> None:
        reset()
        redactor.filter(record)

    return microseconds(reset_and_filter, records) - microseconds(reset, records)


def main(argv: Sequence[str] | None = None) -> None:
    """Print a table: each line's cost in the filter, here and at the base commit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a commit to measure beside this checkout (e.g. main)")
    parser.add_argument("--records", type=int, default=20000, help="records per run (default 20000)")
    options = parser.parse_args(argv)
    filters: dict[str, logging.Filter] = {"this checkout": logs.RedactingFilter(SECRETS)}
    if options.base:
        filters[f"base ({options.base})"] = logs_at(options.base).RedactingFilter(SECRETS)
    print("| Line | " + " | ".join(f"{name}, µs" for name in filters) + " |")
    print("|---|" + "--:|" * len(filters))
    for name, message, extra in LINES:
        costs = [filter_cost(redactor, message, extra, options.records) for redactor in filters.values()]
        print(f"| {name} | " + " | ".join(f"{cost:.1f}" for cost in costs) + " |")


if __name__ == "__main__":
    main()
