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


def test_sandbox_refuses_fault_rates_over_one_naming_the_flags() -> None:
    """python -m bridge sandbox with rates adding up past 1 exits 2 and names the flags to fix."""
    argv = [sys.executable, "-m", "bridge", "sandbox", "--port", "0", "--error-rate", "0.7"]
    out = subprocess.run([*argv, "--lost-answer-rate", "0.7"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert "add up to 1" in out.stderr and "--lost-answer-rate" in out.stderr
