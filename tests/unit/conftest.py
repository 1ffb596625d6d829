"""The unit tier's guard: a test here that reaches for the network, a database, a sleep or a process fails.

Unit tests run decisions on values and fakes. Each guarded call raises
OutsideTheUnitTier naming what was reached for, so a test that needs the real
thing is moved to tests/integration instead of slowing this tier down.
Imports are not guarded (the SDK oracles only import their packages); calls
made while a test runs, its fixtures included, are.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
import sqlalchemy
import sqlalchemy.engine

import bridge.store.engine

# Packages whose modules' own bound copies of the guarded factories are patched too.
PROJECT_PACKAGES = {"bridge", "transforms", "tests", "bench"}


class OutsideTheUnitTier(AssertionError):
    """A unit test reached for a socket, a database, a sleep or a subprocess."""


def refuse(what: str) -> Callable[..., NoReturn]:
    """Return a stand-in for `what` that raises, saying where such a test belongs."""

    def refused(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise OutsideTheUnitTier(
            f"a unit test called {what}: unit tests use no network, database, sleep or subprocess; "
            "a test that needs one belongs in tests/integration"
        )

    return refused


def refuse_connecting(what: str) -> Callable[..., NoReturn]:
    """Return a stand-in for a socket method that closes the socket, then refuses as refuse() does."""
    refused = refuse(what)

    def refused_connect(self: socket.socket, *args: Any, **kwargs: Any) -> NoReturn:
        # The caller's clean-up expects an OSError; close here so no socket is left to leak.
        self.close()
        refused(*args, **kwargs)

    return refused_connect


def bound_copies(original: object) -> Iterator[tuple[object, str]]:
    """Yield (module, name) for each loaded project module holding its own reference to original."""
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.partition(".")[0] not in PROJECT_PACKAGES:
            continue
        for name, value in list(vars(module).items()):
            if value is original:
                yield module, name


@pytest.fixture(autouse=True)
def unit_tier_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make socket connects and binds, engines, sqlite3, time.sleep and subprocesses raise in unit tests."""
    monkeypatch.setattr(socket.socket, "connect", refuse_connecting("socket.socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connecting("socket.socket.connect_ex"))
    monkeypatch.setattr(socket.socket, "bind", refuse_connecting("socket.socket.bind"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(time, "sleep", refuse("time.sleep"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    monkeypatch.setattr(sqlite3, "connect", refuse("sqlite3.connect"))
    factories: list[tuple[Any, str]] = [
        (sqlalchemy, "create_engine"),
        (sqlalchemy.engine, "create_engine"),
        (bridge.store.engine, "make_engine"),
    ]
    for owner, name in factories:
        original = getattr(owner, name)
        stand_in = refuse(f"{owner.__name__}.{name}")
        monkeypatch.setattr(owner, name, stand_in)
        # `from bridge.store.engine import make_engine` (tests/conftest.py, bridge/services.py) binds
        # its own name: patch those copies so they are refused as well.
        for module, bound_name in bound_copies(original):
            monkeypatch.setattr(module, bound_name, stand_in)
