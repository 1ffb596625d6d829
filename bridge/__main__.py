"""Run the bridge's command line: python -m bridge --help (installed, also `lsq-bridge`)."""

from __future__ import annotations

import sys

from bridge.cli.main import main

sys.exit(main(prog_name="python -m bridge"))
