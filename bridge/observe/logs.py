"""Structured JSON logs, with every record scrubbed of secrets before it is written."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable

# Attributes every LogRecord has; anything else came in through `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# LeadSquared keys ride in query strings and headers when a URL or request is logged.
_KEY_PATTERN = re.compile(
    r"(?i)((?:access|secret)_?key=|x-lsq-(?:access|secret)key['\"]?\s*[:=]\s*['\"]?)[^&\s'\",}]+"
)
REDACTED = "[redacted]"


class RedactingFilter(logging.Filter):
    """Replace known secret values and LeadSquared key parameters in a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.scrub(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

    def scrub(self, text: str) -> str:
        """Return text with every secret and key parameter replaced."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _KEY_PATTERN.sub(lambda m: m.group(1) + REDACTED, text)


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
