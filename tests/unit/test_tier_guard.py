"""The unit tier's guard: reaching for the network, a database, a sleep or a process fails loudly."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bridge.store.engine import make_engine
from tests.conftest import make_services
from tests.unit.conftest import OutsideTheUnitTier

WHERE = "belongs in tests/integration"


def called(what: str) -> str:
    """Return the pattern of the guard's message for a call to `what`."""
    return re.escape(f"called {what}")


def test_a_sleep_is_refused_saying_where_the_test_belongs() -> None:
    """time.sleep raises, and the message sends the test to tests/integration."""
    with pytest.raises(OutsideTheUnitTier, match=WHERE):
        time.sleep(0)


def test_socket_connections_are_refused() -> None:
    """create_connection, a socket's connect and an HTTP request through requests are all refused."""
    with pytest.raises(OutsideTheUnitTier, match=called("socket.create_connection")):
        socket.create_connection(("127.0.0.1", 9))
    with socket.socket() as opened, pytest.raises(OutsideTheUnitTier, match=called("socket.socket.connect")):
        opened.connect(("127.0.0.1", 9))
    with pytest.raises(OutsideTheUnitTier, match=called("socket.socket.connect")):
        requests.get("http://127.0.0.1:9", timeout=1)


def test_listening_on_a_port_is_refused() -> None:
    """Binding a socket, as a server or the sandbox would, is refused."""
    with socket.socket() as opened, pytest.raises(OutsideTheUnitTier, match=called("socket.socket.bind")):
        opened.bind(("127.0.0.1", 0))


def test_every_way_to_an_engine_is_refused(tmp_path: Path) -> None:
    """create_engine, make_engine, the copy tests/conftest.py imported (make_services) and sqlite3 fail."""
    with pytest.raises(OutsideTheUnitTier, match=called("sqlalchemy.create_engine")):
        sa.create_engine("sqlite://")
    with pytest.raises(OutsideTheUnitTier, match=called("bridge.store.engine.make_engine")):
        make_engine("sqlite://")
    with pytest.raises(OutsideTheUnitTier, match=called("sqlite3.connect")):
        sqlite3.connect(":memory:")
    with pytest.raises(OutsideTheUnitTier, match=called("bridge.store.engine.make_engine")):
        make_services(tmp_path, "sqlite:///unused.db", None)


def test_a_subprocess_is_refused() -> None:
    """subprocess.run, which starts a process through Popen, is refused."""
    with pytest.raises(OutsideTheUnitTier, match=called("subprocess.Popen")):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
