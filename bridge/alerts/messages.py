"""The alerts' words: a Slack-compatible JSON body per start and per clear, built from pure functions.

Each message says what happened, since when, how many rows, and what to do,
naming the environment variables to fix from the configuration, never their
values. Nothing in it comes from a payload: account names, counts, times and
variable names only, and the text is masked once more on the way out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.alerts.conditions import Change, Condition, Finding
from bridge.config.settings import AccountSettings, AlertSettings
from bridge.observe.masking import mask_text

STARTED = "started"
RESOLVED = "resolved"


@dataclass(frozen=True)
class Context:
    """What a message may name beside its finding: the thresholds, the accounts' variables, the rows."""

    alerts: AlertSettings
    accounts: Mapping[str, AccountSettings]
    rows: int  # activities the condition holds back (waiting, or dead within the hour)


def when(epoch_seconds: float) -> str:
    """Return a time as a person reads it in an alert: UTC, to the minute."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch_seconds))


def duration(seconds: float) -> str:
    """Return a duration in whole minutes (under an hour) or hours and minutes."""
    minutes = max(0, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def activities(count: int) -> str:
    """Return '1 activity' or 'N activities'."""
    return f"{count} activit{'y' if count == 1 else 'ies'}"


def started_text(finding: Finding, context: Context) -> tuple[str, str]:
    """Return the headline and what to do for a condition that began."""
    subject, since, rows = finding.subject, when(finding.since), activities(context.rows)
    account = context.accounts.get(subject)
    if finding.condition is Condition.ACCOUNT_PAUSED:
        secret = account.secret_key_env if account else "the account's secret key variable"
        access = account.access_key_env if account else "its access key variable"
        return (
            f"LeadSquared refused the keys of account {subject} (401) since {since}: deliveries are "
            f"paused, {rows} waiting (none is lost).",
            f"Rotate {secret} (and {access} if it changed too) in the bridge's environment and restart "
            f"the worker, then resume: lsq-bridge resume {subject}",
        )
    if finding.condition is Condition.DEAD_ACTIVITIES:
        return (
            f"{activities(int(finding.value))} of account {subject} went dead within the hour before "
            f"{when(finding.since + 3600)} (more than {context.alerts.dead_per_hour}).",
            "Read their reasons on the console's Needs attention page, fix the cause, then retry them: "
            f"lsq-bridge retry --account {subject} --dry-run, then without --dry-run",
        )
    if finding.condition is Condition.OLDEST_PENDING:
        return (
            f"Account {subject}'s oldest activity waiting for delivery was stored at {since}, "
            f"{duration(finding.value * 60)} ago (limit {context.alerts.oldest_pending_minutes:g} min); "
            f"{rows} waiting.",
            "Check the workers are running and the account is not paused or held off "
            "(console: Accounts, or lsq-bridge activities --account "
            f"{subject} --status pending); add workers or raise the plan's rate limit for a backlog.",
        )
    if finding.condition is Condition.WORKERS_SILENT:
        return (
            f"No worker has written a heartbeat since {since} ({duration(finding.value)}): nothing is "
            f"being delivered; {rows} waiting.",
            "Start the worker (python -m bridge worker, the Procfile's worker line) and read its last "
            "log lines for why it stopped.",
        )
    configured = account.calls_per_window if account else "the configured"
    window = f"{account.window_seconds:g} s" if account else "its window"
    return (
        f"LeadSquared lowered account {subject}'s rate limit to {int(finding.value)} calls per {window} "
        f"(configured: {configured}) at {since}; the bridge keeps to it for an hour.",
        f"Check the account's plan with LeadSquared; if the limit is now lower for good, set "
        f"accounts.{subject}.calls_per_window to it.",
    )


TITLES = {
    Condition.ACCOUNT_PAUSED: "account paused",
    Condition.DEAD_ACTIVITIES: "dead activities",
    Condition.OLDEST_PENDING: "deliveries late",
    Condition.WORKERS_SILENT: "no worker running",
    Condition.LIMIT_LOWERED: "rate limit lowered",
}


def resolved_text(change: Change, now: float, context: Context) -> str:
    """Return the line of a condition that cleared, with how long it lasted."""
    condition, subject = change.key
    lasted = duration(now - change.since)
    where = "the workers" if condition is Condition.WORKERS_SILENT else f"account {subject}"
    return (
        f"Resolved: {TITLES[condition]} for {where}, resolved after {lasted} (since {when(change.since)}); "
        f"{activities(context.rows)} waiting now."
    )


def alert_body(change: Change, now: float, context: Context) -> dict[str, Any]:
    """Return the JSON body posted for a change: text for any sink, blocks for Slack."""
    condition, subject = change.key
    label = f"{TITLES[condition]}: {'workers' if condition is Condition.WORKERS_SILENT else subject}"
    if change.finding is not None:
        headline, action = started_text(change.finding, context)
        text = mask_text(f":rotating_light: lsq-bridge {label}. {headline} What to do: {action}")
        blocks = [
            _section(mask_text(f":rotating_light: *lsq-bridge {label}*\n{headline}")),
            _section(mask_text(f"*What to do:* {action}")),
        ]
    else:
        line = resolved_text(change, now, context)
        text = mask_text(f":white_check_mark: lsq-bridge {label}. {line}")
        blocks = [_section(text)]
    return {"text": text, "blocks": blocks}


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def kind_of(change: Change) -> str:
    """Return the outbox kind of a change: started or resolved."""
    return STARTED if change.starts else RESOLVED
