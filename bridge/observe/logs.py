"""Structured JSON logs, every record scrubbed of secrets and personal data before it is written.

One filter guards every line a bridge process writes: the root handler's
records (the bridge's own, Flask's, SQLAlchemy's) and gunicorn's own error
and access lines, which gunicorn writes through handlers of its own. It cuts
configured secrets and LeadSquared key parameters, then masks emails, phone
numbers and PANs with bridge/observe/masking.py, the patterns every page and
stored reason uses: in the message, every `extra` field (strings, and values
inside dicts and lists), the exception text and the stack.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

from bridge.observe.masking import mask_number, mask_text

# Attributes every LogRecord has; anything else came in through `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# LeadSquared keys ride in query strings and headers when a URL or request is logged.
_KEY_PATTERN = re.compile(
    r"(?i)((?:access|secret)_?key=|x-lsq-(?:access|secret)key['\"]?\s*[:=]\s*['\"]?)[^&\s'\",}]+"
)
REDACTED = "[redacted]"
# gunicorn's loggers do not propagate to the root: the filter sits on them as well.
SERVER_LOGGERS = ("gunicorn.error", "gunicorn.access")
# Extra values written as JSON as they are; anything else is written as its text, scrubbed.
_PLAIN = (int, float, bool, type(None))


class RedactingFilter(logging.Filter):
    """Replace known secret values and LeadSquared key parameters, and mask personal data, in a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        for name, value in list(vars(record).items()):
            # Top-level numbers are the bridge's own ids and counts (event_id, rows): left as they are.
            if name not in _STANDARD and not isinstance(value, _PLAIN):
                setattr(record, name, self.scrub_value(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True

    def scrub(self, text: str) -> str:
        """Return text with every secret and key parameter replaced and personal data masked."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        # Every key parameter and header name ends in "key", in some case: a text without it skips the regex.
        if "ey" in text or "EY" in text or "Ey" in text or "eY" in text:
            text = _KEY_PATTERN.sub(lambda m: m.group(1) + REDACTED, text)
        return mask_text(text)

    def scrub_value(self, value: Any) -> Any:
        """Return an `extra` value scrubbed: strings, dict keys and values, list items, odd objects' text."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {
                self.scrub(key) if isinstance(key, str) else key: self._scrub_item(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self._scrub_item(item) for item in value]
        if isinstance(value, _PLAIN):
            return value
        # The JSON line would show its str(): scrub that text instead.
        return self.scrub(str(value))

    def _scrub_item(self, item: Any) -> Any:
        """Scrub a value inside a dict or list, where a number that reads as a phone number is masked."""
        if isinstance(item, int) and not isinstance(item, bool):
            return mask_number(item)
        return self.scrub_value(item)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def configure_logging(secrets: Iterable[str], level: str = "INFO") -> RedactingFilter:
    """Send JSON logs to stderr through the redaction filter; return the filter."""
    # Every accepted webhook is logged, so a record must be cheap: skip what the
    # JSON lines never show (the logging docs' "Optimization" section).
    logging._srcfile = None  # no caller frame lookup
    logging.logThreads = False
    # The process id stays: gunicorn's own log lines print it ([%(process)d]).
    logging.logMultiprocessing = False
    redactor = RedactingFilter(secrets)
    guard_server_logs(redactor)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # requests/urllib3 log full URLs at DEBUG; the filter guards them, but keep them quiet.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return redactor


def guard_server_logs(redactor: RedactingFilter) -> None:
    """Put the redactor on gunicorn's own loggers, in place of any earlier one."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
            logger.removeFilter(old)
        logger.addFilter(redactor)
