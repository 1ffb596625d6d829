"""The admin app's small decisions: times as people read them, tokens, loopback, the session key."""

from __future__ import annotations

from bridge.admin.access import bearer_token
from bridge.admin.present import age, duration, utc
from bridge.admin.security import is_loopback, session_key


def test_times_are_utc_iso_to_the_second() -> None:
    """A time shows as UTC ISO 8601 with a Z; no time shows as a dash."""
    assert utc(1764230400.7) == "2025-11-27T08:00:00Z"
    assert utc(None) == "—"


def test_ages_say_how_long_ago_or_how_far_ahead() -> None:
    """Ages round down to the largest unit that fits; a future time says in."""
    now = 1_000_000.0
    assert age(now - 42, now) == "42 s ago"
    assert age(now - 300, now) == "5 min ago"
    assert age(now - 3 * 3600 - 5, now) == "3 h ago"
    assert age(now - 2 * 86400, now) == "2 d ago"
    assert age(now + 10, now) == "in 10 s"
    assert age(None, now) == ""


def test_durations_are_milliseconds_below_a_second() -> None:
    """A call's duration reads in ms, then seconds, then minutes."""
    assert duration(0.0854) == "85 ms"
    assert duration(2.44) == "2.4 s"
    assert duration(180) == "3 min"
    assert duration(None) == "—"


def test_only_a_bearer_header_with_a_token_gives_a_token() -> None:
    """Bearer is matched case-insensitively; other schemes and empty tokens give none."""
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token("abc") is None


def test_loopback_is_this_machine_only() -> None:
    """127.0.0.0/8 and ::1 are loopback; other and unreadable addresses are not."""
    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9") and is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback("not an address") and not is_loopback(None)


def test_the_session_key_depends_on_the_password_alone() -> None:
    """One password gives one key in every process; another password gives another key."""
    assert session_key("one password") == session_key("one password")
    assert session_key("one password") != session_key("another password")
    assert len(session_key("one password")) == 32
