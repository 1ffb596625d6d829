"""The alert conditions as pure decisions: what holds, what starts, what clears, and how the alert reads."""

from __future__ import annotations

from dataclasses import replace

from bridge.alerts.conditions import (
    AccountReading,
    ActiveAlert,
    Change,
    Condition,
    Finding,
    Reading,
    changes,
    findings,
)
from bridge.alerts.messages import Context, alert_body, duration, kind_of
from bridge.alerts.sender import postable, retry_after
from bridge.config.settings import AlertSettings
from bridge.store.alerts import OutgoingAlert
from tests.unit.fakes import ACCOUNT

NOW = 1_800_000_000.0
SETTINGS = AlertSettings(webhook_url="https://hooks.example.invalid/T0/B0/key")
QUIET = AccountReading("main")


def reading(*accounts: AccountReading, last_beat_at: float | None = NOW - 1) -> Reading:
    """Return a reading at NOW of these accounts, with a worker that beat a second ago."""
    return Reading(NOW, accounts, last_beat_at)


def test_a_quiet_bridge_finds_nothing() -> None:
    """No pause, no dead rows, nothing waiting and a live worker: no condition holds."""
    assert findings(reading(QUIET), SETTINGS, {}) == {}


def test_a_pause_by_a_401_holds_since_it_began() -> None:
    """A paused account is found with the time its pause began."""
    found = findings(reading(replace(QUIET, paused_at=NOW - 300)), SETTINGS, {})
    assert found == {
        (Condition.ACCOUNT_PAUSED, "main"): Finding(Condition.ACCOUNT_PAUSED, "main", NOW - 300, 0)
    }


def test_dead_rows_start_above_the_threshold_and_clear_at_half_of_it() -> None:
    """Eleven dead start an alert at ten; once started, six keep it, five clear it."""
    key = (Condition.DEAD_ACTIVITIES, "main")
    assert findings(reading(replace(QUIET, dead_last_hour=10)), SETTINGS, {}) == {}
    assert key in findings(reading(replace(QUIET, dead_last_hour=11)), SETTINGS, {})
    active = {key: ActiveAlert(Condition.DEAD_ACTIVITIES, "main", NOW - 60)}
    assert key in findings(reading(replace(QUIET, dead_last_hour=6)), SETTINGS, active)
    assert key not in findings(reading(replace(QUIET, dead_last_hour=5)), SETTINGS, active)


def test_an_old_waiting_activity_holds_past_the_minutes_given() -> None:
    """Waiting 31 minutes at a 30-minute threshold holds, since the row was stored; 29 does not."""
    key = (Condition.OLDEST_PENDING, "main")
    found = findings(reading(replace(QUIET, oldest_waiting_at=NOW - 31 * 60)), SETTINGS, {})
    assert found[key].since == NOW - 31 * 60 and round(found[key].value) == 31
    assert findings(reading(replace(QUIET, oldest_waiting_at=NOW - 29 * 60)), SETTINGS, {}) == {}


def test_silent_workers_hold_only_after_a_worker_once_ran() -> None:
    """A heartbeat older than worker_silent_seconds holds; a store no worker ever used does not."""
    silent = findings(reading(QUIET, last_beat_at=NOW - 121), SETTINGS, {})
    assert list(silent) == [(Condition.WORKERS_SILENT, "workers")]
    assert findings(reading(QUIET, last_beat_at=NOW - 119), SETTINGS, {}) == {}
    assert findings(reading(QUIET, last_beat_at=None), SETTINGS, {}) == {}


def test_a_disabled_condition_is_never_found() -> None:
    """A condition listed in disabled raises nothing while it holds."""
    settings = replace(SETTINGS, disabled=("limit_lowered",))
    assert findings(reading(replace(QUIET, limit_in_force=10)), settings, {}) == {}
    assert findings(reading(replace(QUIET, limit_in_force=10)), SETTINGS, {}) != {}


def test_changes_start_what_is_new_and_clear_what_went_never_repeating_either() -> None:
    """A finding not active starts; an active alert no longer found clears; one still found does nothing."""
    paused = Finding(Condition.ACCOUNT_PAUSED, "main", NOW - 300, 0)
    key = (Condition.ACCOUNT_PAUSED, "main")
    [start] = changes({key: paused}, {})
    assert start.starts and start.since == NOW - 300 and kind_of(start) == "started"
    active = {key: ActiveAlert(Condition.ACCOUNT_PAUSED, "main", NOW - 300)}
    assert changes({key: paused}, active) == []
    [clear] = changes({}, active)
    assert not clear.starts and clear.since == NOW - 300 and kind_of(clear) == "resolved"


def context(rows: int) -> Context:
    """Return a message context for the one test account with this many rows."""
    return Context(SETTINGS, {"main": ACCOUNT}, rows)


def test_a_pause_alert_says_what_since_when_how_many_and_what_to_do() -> None:
    """The text names the 401, the time in UTC, the rows waiting and the variable to rotate, never a key."""
    finding = Finding(Condition.ACCOUNT_PAUSED, "main", NOW - 300, 0)
    body = alert_body(Change((Condition.ACCOUNT_PAUSED, "main"), finding, NOW - 300), NOW, context(12))
    text = body["text"]
    assert "account main (401) since 2027-01-15 07:55 UTC" in text
    assert "12 activities waiting" in text
    assert "rotate LSQ_SECRET_KEY".lower() in text.lower() and "lsq-bridge resume main" in text
    assert ACCOUNT.secret_key not in text and ACCOUNT.access_key not in text
    assert [block["type"] for block in body["blocks"]] == ["section", "section"]


def test_a_resolved_alert_says_how_long_it_lasted() -> None:
    """Cleared 47 minutes after it began, the alert says so, with the rows waiting now."""
    change = Change((Condition.ACCOUNT_PAUSED, "main"), None, NOW - 47 * 60)
    text = alert_body(change, NOW, context(0))["text"]
    assert "Resolved: account paused for account main, resolved after 47 minutes" in text
    assert "0 activities waiting now" in text


def test_every_condition_has_a_message_with_something_to_do() -> None:
    """Each condition's start reads with a 'What to do' and a resolved line with its duration."""
    for condition in Condition:
        subject = "workers" if condition is Condition.WORKERS_SILENT else "main"
        finding = Finding(condition, subject, NOW - 600, 20)
        started = alert_body(Change((condition, subject), finding, NOW - 600), NOW, context(3))["text"]
        resolved = alert_body(Change((condition, subject), None, NOW - 600), NOW, context(3))["text"]
        assert "What to do:" in started, condition
        assert "resolved after 10 minutes" in resolved, condition


def test_durations_read_in_minutes_then_hours() -> None:
    """Under an hour in minutes, above it in hours and minutes."""
    assert [duration(s) for s in (30, 60, 59 * 60, 61 * 60, 26 * 3600)] == [
        "0 minutes",
        "1 minute",
        "59 minutes",
        "1 h 01 min",
        "26 h 00 min",
    ]


def test_retries_back_off_to_the_cap_and_give_up_after_the_last_attempt() -> None:
    """2, 4, 8 ... seconds, capped at retry_max_seconds; None once max_attempts posts failed."""
    settings = replace(SETTINGS, retry_base_seconds=2, retry_max_seconds=30, max_attempts=6)
    assert [retry_after(n, settings) for n in range(1, 7)] == [2, 4, 8, 16, 30, None]


def outgoing(alert_id: int, subject: str, due_at: float = NOW) -> OutgoingAlert:
    """Return an unsent alert of account_paused for this subject."""
    return OutgoingAlert(alert_id, "account_paused", subject, {"text": "t"}, 0, due_at, 0.0)


def test_a_resolved_alert_never_overtakes_its_unsent_start() -> None:
    """Only the oldest unsent alert per condition and subject may go, and only once it is due."""
    unsent = [outgoing(1, "main", due_at=NOW + 10), outgoing(2, "main"), outgoing(3, "other")]
    assert [alert.id for alert in postable(unsent, NOW)] == [3]
    assert [alert.id for alert in postable(unsent, NOW + 10)] == [1, 3]


def test_the_readmes_example_is_what_a_pause_posts() -> None:
    """The README's example body is exactly what a pause of account main since 02:41 UTC posts."""
    import calendar
    import json

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    example = readme.split("### Alerts", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    since = calendar.timegm((2026, 12, 7, 2, 41, 0))
    finding = Finding(Condition.ACCOUNT_PAUSED, "main", since, 0)
    change = Change((Condition.ACCOUNT_PAUSED, "main"), finding, since)
    assert json.loads(example) == alert_body(change, since + 60, context(12))
