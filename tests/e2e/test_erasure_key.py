"""The worker process, started as the Procfile does, refuses to run without the erasure key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bridge.sandbox import SandboxServer
from tests.conftest import POSTGRES_ONLY, ROOT, bridge_environ, write_config


# PostgreSQL alone: the worker refuses while it loads its settings, before it reads any store.
@POSTGRES_ONLY
def test_a_worker_without_its_erasure_key_exits_2_naming_the_variable(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """`python -m bridge worker` without BRIDGE_ERASURE_KEY exits 2 saying which variable to set, and how."""
    environ = bridge_environ(database_url, sandbox, BRIDGE_CONFIG=str(write_config(tmp_path)))
    del environ["BRIDGE_ERASURE_KEY"]
    finished = subprocess.run(
        [sys.executable, "-m", "bridge", "worker"],
        cwd=ROOT,
        env={"PATH": str(Path(sys.executable).parent), **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2, finished.stderr
    assert "BRIDGE_ERASURE_KEY is not set" in finished.stderr and "openssl rand" in finished.stderr
