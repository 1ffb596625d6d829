"""What the operator commands share: their filter options, the services they run on, and who they are."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from bridge import services
from bridge.operate.actions import Actor
from bridge.services import Services

Command = TypeVar("Command", bound=Callable[..., Any])

# (option, filter field, help): the same names the console's query string and the API's JSON use.
EVENT_OPTIONS = (
    ("--source", "source", "a source name, e.g. razorpay"),
    ("--type", "event_type", "an event type, e.g. payment.captured"),
    ("--status", "status", "received, transformed, ignored or failed"),
    ("--since", "since", "received at or after: an age (30m, 2h, 7d), an ISO time or epoch seconds"),
    ("--until", "until", "received before: the same forms as --since"),
    ("--opportunity", "opportunity_id", "an opportunity id one of its activities is for"),
    ("--key", "key", "the provider's event or delivery id (the idempotency key)"),
    ("--text", "text", "a piece of the reason it was ignored or failed"),
)
ACTIVITY_OPTIONS = (
    ("--account", "account", "an account name from the configuration"),
    ("--status", "status", "e.g. dead, unknown, unresolved, pending, delivered"),
    ("--source", "source", "the source of its event"),
    ("--opportunity", "opportunity_id", "an opportunity id"),
    ("--event", "event_id", "its event's number"),
    ("--since", "since", "created at or after: an age (30m, 2h, 7d), an ISO time or epoch seconds"),
    ("--until", "until", "created before: the same forms as --since"),
    ("--text", "text", "a piece of its last error"),
)


def event_filters(command: Command) -> Command:
    """Add the event filter options to a command."""
    return _with_options(command, EVENT_OPTIONS)


def activity_filters(command: Command) -> Command:
    """Add the activity filter options to a command."""
    return _with_options(command, ACTIVITY_OPTIONS)


def _with_options(command: Command, options: tuple[tuple[str, str, str], ...]) -> Command:
    for flag, field, text in reversed(options):
        command = click.option(flag, field, help=text)(command)
    return command


def filter_values(options: Mapping[str, Any], fields: tuple[tuple[str, str, str], ...]) -> dict[str, str]:
    """Return the filter fields among a command's options that were given."""
    names = {field for _, field, _ in fields}
    return {name: str(value) for name, value in options.items() if name in names and value is not None}


def open_services(environ: Mapping[str, str]) -> Services:
    """Load the configuration and open the store, refusing one whose schema is behind the code."""
    from bridge.store.migrate import ensure_current

    # No webhook is verified here: an operator's shell need not hold the sources' secrets.
    wired = services.build_services(environ, services.source_registry(), require_secrets=False)
    # The command's pooled connections close with it, not whenever the interpreter gets round to it.
    click.get_current_context().call_on_close(lambda: close(wired))
    ensure_current(wired.engine)
    return wired


def actor_of(environ: Mapping[str, str]) -> Actor:
    """Return the operator as the audit log names them: cli:<login name>."""
    user = environ.get("USER") or environ.get("LOGNAME") or "unknown"
    return Actor(f"cli:{user}")


def close(wired: Services) -> None:
    """Close the store's connections, the reader's too where one was opened."""
    wired.engine.dispose()
    if "reader" in wired.__dict__ and wired.reader is not wired.engine:
        wired.reader.dispose()
