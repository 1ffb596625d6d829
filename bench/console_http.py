"""The console and its API over HTTP, as people and scripts use them: logged in, then each URL timed.

A console session logs in as a browser does (the login page, the CSRF token
of its form, the password); an API session sends the Bearer token. URLs are
timed in rounds, every URL once per round, so that a moment when the shared
machine is busy falls on all of them alike rather than on one URL's samples.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT_SECONDS = 120.0
OPPORTUNITY = "opp-42"  # one of the seeded opportunities, about ten activities


@dataclass(frozen=True)
class Target:
    """One URL to time: what it shows, and whether the API (token) or the console (cookie) serves it."""

    label: str
    api: bool
    path: str


@dataclass(frozen=True)
class Probes:
    """Values the URLs take from the seeded store."""

    event_id: int  # an event with two activities, their calls and its repeats
    key: str  # an event's idempotency key, looked up without its source
    after: int  # the unfiltered list's cursor for its second page


@dataclass
class Timing:
    """One URL's answer times on one store, in milliseconds."""

    target: Target
    samples: list[float] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        """Return the nearest-rank percentile (share 0.95: the 95th)."""
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Admin:
    """A running admin process and the two ways in: a logged-in console and the API's token."""

    base: str
    console: requests.Session
    api: requests.Session

    def get(self, target: Target) -> requests.Response:
        """Fetch a target; anything but a 2xx is the benchmark's failure, not a timing."""
        session = self.api if target.api else self.console
        answer = session.get(self.base + target.path, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        if not 200 <= answer.status_code < 300:
            raise RuntimeError(f"{target.path} answered {answer.status_code}: {answer.text[:300]}")
        return answer


def log_in(base: str, password: str, token: str) -> Admin:
    """Log in to the console as a browser does, and ready an API session with the token."""
    console = requests.Session()
    page = console.get(f"{base}/login", timeout=TIMEOUT_SECONDS)
    page.raise_for_status()
    found = CSRF_FIELD.search(page.text)
    if found is None:
        raise RuntimeError("the login page has no form with a CSRF token")
    form = {"csrf_token": found.group(1), "password": password, "next": ""}
    answer = console.post(f"{base}/login", data=form, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    if answer.status_code != 302:
        raise RuntimeError(f"logging in answered {answer.status_code}: {answer.text[:300]}")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    return Admin(base, console, api)


def event_filters(probes: Probes) -> list[tuple[str, dict[str, str]]]:
    """Return the event lists to time: each filter alone, the worst cases of the scanned ones, a next page."""
    return [
        ("no filter", {}),
        ("source", {"source": "stripe"}),
        ("type", {"event_type": "refund.created"}),
        ("type, none match", {"event_type": "order.cancelled"}),
        ("status", {"status": "failed"}),
        ("since 1 day", {"since": "1d"}),
        ("opportunity", {"opportunity_id": OPPORTUNITY}),
        ("key", {"key": probes.key}),
        ("text", {"text": "not a number"}),
        ("text, none match", {"text": "no such words"}),
        ("next page (after)", {"after": str(probes.after)}),
    ]


ACTIVITY_FILTERS: list[tuple[str, dict[str, str]]] = [
    ("no filter", {}),
    ("status", {"status": "dead"}),
    ("account", {"account": "main"}),
    ("source", {"source": "stripe"}),
    ("opportunity", {"opportunity_id": OPPORTUNITY}),
    ("text", {"text": "Invalid dropdown value"}),
    ("since 1 day", {"since": "1d"}),
]


def targets(probes: Probes) -> list[Target]:
    """Return every console page and API list to time, console first."""
    pages = [Target("overview", False, "/")]
    pages += [Target(f"events, {name}", False, _url("/events", q)) for name, q in event_filters(probes)]
    pages.append(Target("event detail", False, f"/events/{probes.event_id}"))
    pages.append(Target("needs attention", False, "/attention"))
    pages += [Target(f"activities, {name}", False, _url("/activities", q)) for name, q in ACTIVITY_FILTERS]
    pages.append(Target("accounts", False, "/accounts"))
    pages.append(Target("jobs", False, "/jobs"))
    count = {"action": "replay", "status": "ignored", "event_type": "pan.verification.completed"}
    pages.append(Target("bulk replay, its dry-run count", False, _url("/jobs/new", count)))
    lists = [Target(f"events, {name}", True, _url("/api/events", q)) for name, q in event_filters(probes)]
    lists.append(Target("event detail", True, f"/api/events/{probes.event_id}"))
    lists += [Target(f"activities, {name}", True, _url("/api/activities", q)) for name, q in ACTIVITY_FILTERS]
    lists += [
        Target("overview", True, "/api/overview"),
        Target("needs attention", True, "/api/attention"),
        Target("jobs", True, "/api/jobs"),
    ]
    return pages + lists


def time_rounds(admins: Sequence[tuple[Admin, list[Target]]], warm: int, rounds: int) -> list[list[Timing]]:
    """Fetch every target of every admin process once per round; keep the times after the warm rounds."""
    timings = [[Timing(target) for target in wanted] for _, wanted in admins]
    for number in range(warm + rounds):
        for (admin, _), store_timings in zip(admins, timings, strict=True):
            for timing in store_timings:
                start = time.perf_counter()
                admin.get(timing.target)
                if number >= warm:
                    timing.samples.append(1000 * (time.perf_counter() - start))
    return timings


def _url(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path
