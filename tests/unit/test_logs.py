"""Logs: structured JSON, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from bridge.cli.main import run
from bridge.observe.logs import SERVER_LOGGERS, JsonFormatter, RedactingFilter, configure_logging


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


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Give a test the root logger and gunicorn's loggers back as they were after configure_logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for name in SERVER_LOGGERS:
        for found in list(logging.getLogger(name).filters):
            logging.getLogger(name).removeFilter(found)
    for old in list(root.handlers):
        root.removeHandler(old)
    for old in handlers:
        root.addHandler(old)
    root.setLevel(level)


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


def test_personal_data_is_masked_in_the_message_its_arguments_and_string_extras() -> None:
    """An email, phones (Indian and E.164) and a PAN are masked wherever a record carries them as text."""
    logger, buffer = capture([])
    logger.warning(
        "no lead for %s or %s",
        "asha.rao@example.com",
        "+91 98765 43210",
        extra={"searched": "phone=09876543210", "detail": "PAN ABCPE1234K, call +14155552671"},
    )
    line = json.loads(buffer.getvalue())
    assert line["message"] == "no lead for a***@example.com or ***********3210"
    assert line["searched"] == "phone=*******3210"
    assert line["detail"] == "PAN ******234K, call ********2671"


def test_personal_data_inside_dict_and_list_extras_is_masked() -> None:
    """Values nested in dict and list extras, keys included, and a number that reads as a phone are masked."""
    logger, buffer = capture([])
    contact = {"email": "lead@example.com", "phones": ["9800000001", 919800000001], "amount": 150000}
    extra = {"contact": contact, "keys": {"lead@example.com": 1}, "pans": ("ABCDE1234F",)}
    logger.info("contact", extra=extra)
    line = json.loads(buffer.getvalue())
    assert line["contact"] == {
        "email": "l***@example.com",
        "phones": ["******0001", "********0001"],
        "amount": 150000,
    }
    assert line["keys"] == {"l***@example.com": 1}
    assert line["pans"] == ["******234F"]


def test_an_object_extra_is_written_as_its_masked_text() -> None:
    """An extra of another type is written as its text, masked, as the JSON line would have shown it."""

    class Lead:
        def __str__(self) -> str:
            return "Lead(lead@example.com)"

    logger, buffer = capture([])
    logger.info("lead", extra={"lead": Lead()})
    assert json.loads(buffer.getvalue())["lead"] == "Lead(l***@example.com)"


def test_exception_text_and_stack_are_masked() -> None:
    """A traceback whose exception quotes a payload, and a logged stack, carry no clear identifier."""
    logger, buffer = capture([])
    try:
        raise ValueError("bad row {'email': 'asha.rao@example.com', 'pan': 'ABCPE1234K'}")
    except ValueError:
        logger.exception("transform raised", stack_info=True)
    line = json.loads(buffer.getvalue())
    assert "bad row {'email': 'a***@example.com', 'pan': '******234K'}" in line["exception"]
    assert "asha.rao" not in buffer.getvalue() and "ABCPE1234K" not in buffer.getvalue()


def test_ids_times_and_amounts_stay_readable_in_a_log_line() -> None:
    """Event ids, times (s and ms), opportunity ids, ProspectActivityIds, uuids and amounts are kept."""
    logger, buffer = capture([])
    kept = {
        "event_id": 9876543210,
        "idempotency_key": "evt_29QQoUBi66xm2f",
        "received_ms": "1764230400123",
        "created_at": "1764230400",
        "at": "2025-11-27T14:05:31+05:30",
        "opportunity": "opp-9876543210",
        "prospect_activity_id": "9c7d6e5f-1234-4321-9876-0123456789ab",
        "amount": "9876543210.50",
        "payment": "pay_29QQoUBi66xm2f",
        "status": "LeadSquared answered 500: An internal error occurred (MXUnknownException)",
    }
    message = "batch posted for opportunity 7c1e2d3f-4a5b-4c6d-8e9f-919876543210 at 1764230400123"
    logger.info(message, extra=kept)
    line = json.loads(buffer.getvalue())
    assert line["message"] == message
    assert {name: line[name] for name in kept} == kept


def test_a_secret_is_cut_before_personal_data_is_masked() -> None:
    """A secret that looks like an email or phone is redacted whole, not half-masked."""
    logger, buffer = capture(["9800000001"])
    logger.info("key 9800000001, contact 9812345678, accessKey=u$rABC")
    assert json.loads(buffer.getvalue())["message"] == (
        "key [redacted], contact ******5678, accessKey=[redacted]"
    )


def test_gunicorn_lines_go_through_the_same_filter(restored_logging: None) -> None:
    """gunicorn's own loggers, writing through handlers of their own, carry configure_logging's filter."""
    error_log = logging.getLogger("gunicorn.error")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    error_log.addHandler(handler)
    error_log.propagate = False
    try:
        configure_logging(["webhook-secret-1"])
        redactor = configure_logging(["webhook-secret-2"])
        error_log.warning("Error handling request /webhooks/idfy/webhook-secret-2?email=lead@example.com")
        assert [f for f in error_log.filters if isinstance(f, RedactingFilter)] == [redactor]
        expected = "Error handling request /webhooks/idfy/[redacted]?email=l***@example.com\n"
        assert buffer.getvalue() == expected
    finally:
        error_log.removeHandler(handler)


def test_operator_commands_log_warnings_masked_as_json(
    restored_logging: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script sends a command's warnings through the filter, as JSON on stderr."""
    monkeypatch.setattr(sys, "argv", ["lsq-bridge", "--help"])
    with pytest.raises(SystemExit):
        run()
    capsys.readouterr()
    logging.getLogger("bridge.pipeline.transform").warning("transform raised on lead@example.com")
    logging.getLogger("bridge").info("not shown: an operator command logs warnings only")
    line = json.loads(capsys.readouterr().err)
    assert (line["level"], line["message"]) == ("WARNING", "transform raised on l***@example.com")
