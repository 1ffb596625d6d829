"""Run the bridge's command line: python -m bridge --help."""

from __future__ import annotations

import sys

from bridge.cli.main import main

sys.exit(main())
