"""Logs: structured JSON, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging

from bridge.observe.logs import JsonFormatter, RedactingFilter, configure_logging


def capture(secrets: list[str]) -> tuple[logging.Logger, io.StringIO]:
    """Return a logger writing JSON through the redaction filter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(secrets))
    logger = logging.getLogger(f"test.{id(buffer)}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, buffer


def test_extra_fields_are_json_keys() -> None:
    """The `extra` fields of a record appear as keys of its JSON line."""
    logger, buffer = capture([])
    logger.info("webhook accepted", extra={"action": "accept", "source": "razorpay", "event_id": 7})
    line = json.loads(buffer.getvalue())
    assert (line["message"], line["action"], line["source"], line["event_id"]) == (
        "webhook accepted",
        "accept",
        "razorpay",
        7,
    )


def test_urls_with_keys_are_redacted() -> None:
    """accessKey/secretKey in a logged URL, raw or URL-encoded, never reach the log."""
    logger, buffer = capture([])
    logger.warning(
        "GET https://api-in21.leadsquared.com/v2/x?accessKey=u%24r123&secretKey=abc&opportunityId=o1"
    )
    text = buffer.getvalue()
    assert "u%24r123" not in text and "abc&" not in text
    assert "opportunityId=o1" in text


def test_known_secrets_are_redacted_everywhere() -> None:
    """A configured secret is cut from the message, its arguments, extra fields and tracebacks."""
    logger, buffer = capture(["u$rLIVEKEY", "webhook-secret-1"])
    try:
        raise RuntimeError("failed with u$rLIVEKEY")
    except RuntimeError:
        logger.exception("call %s failed", "webhook-secret-1", extra={"detail": "key u$rLIVEKEY"})
    text = buffer.getvalue()
    assert "u$rLIVEKEY" not in text and "webhook-secret-1" not in text
    assert text.count("[redacted]") >= 3


def test_header_style_keys_are_redacted() -> None:
    """x-LSQ-SecretKey header values in a logged request are cut."""
    logger, buffer = capture([])
    logger.info("headers: {'x-LSQ-AccessKey': 'u$rA', 'x-LSQ-SecretKey': 'topsecret'}")
    assert "topsecret" not in buffer.getvalue() and "u$rA" not in buffer.getvalue()


def test_records_keep_the_process_id_that_gunicorn_prints() -> None:
    """After configure_logging a record still carries its process id, so gunicorn's [%(process)d] formats."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging([])
        record = logging.makeLogRecord({"msg": "Worker exiting (pid: %s)", "args": (42,)})
        line = logging.Formatter("[%(process)d] %(message)s").format(record)
        assert line.endswith("Worker exiting (pid: 42)")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
