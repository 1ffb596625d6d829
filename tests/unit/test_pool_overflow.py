"""The store's pool: overflow connections for threads, none for greenlets."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from bridge.store import engine


def test_a_threaded_process_keeps_its_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without gevent's patching (the worker, the CLI, the tests) the pool may grow past its size."""
    monkeypatch.delitem(sys.modules, "gevent.monkey", raising=False)
    assert engine._max_overflow() == engine.MAX_OVERFLOW


def test_a_gevent_process_waits_for_a_pooled_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once gevent has patched threading, the pool never opens a connection it would close again."""
    patched = SimpleNamespace(is_module_patched=lambda name: name == "threading")
    monkeypatch.setitem(sys.modules, "gevent.monkey", patched)
    assert engine._max_overflow() == 0
