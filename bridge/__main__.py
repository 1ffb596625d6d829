"""Run the bridge's command line: python -m bridge --help (installed, also `lsq-bridge`)."""

from __future__ import annotations

from bridge.cli.main import run

run(prog_name="python -m bridge")
