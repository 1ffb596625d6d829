"""The command line as a process: python -m bridge, run with the interpreter the tests use."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_help_lists_every_command() -> None:
    """python -m bridge --help names each command."""
    out = subprocess.run([sys.executable, "-m", "bridge", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("up", "worker", "migrate", "check-config", "sandbox"):
        assert command in out.stdout
