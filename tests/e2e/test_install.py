"""The package as pip installs it: the lsq-bridge script, and the data files the code reads at run time.

The project is built from a copy of its sources, with this interpreter's
setuptools and no download, and installed into a folder of its own; each
command then runs from another folder, so nothing is read from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# One xdist worker builds the package once (the module-scoped fixture) and runs both tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("install")]

# What a build reads: the metadata, the pins it turns into dependencies, and the two packages.
BUILD_INPUTS = ("pyproject.toml", "requirements.txt", "bridge", "transforms")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install the project (no dependencies) into a fresh folder; return that folder."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    target = work / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--no-index", "--target", str(target), str(source)], check=True, timeout=120)
    return target


def run_installed(site: Path, cwd: Path, *argv: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run the installed lsq-bridge script in cwd, importing the bridge from site only."""
    # The dependencies come from this interpreter's environment; the bridge itself only from site.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(site), **environ}
    script = site / "bin" / "lsq-bridge"
    return subprocess.run([str(script), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_installed_script_lists_every_command(installed: Path, tmp_path: Path) -> None:
    """`lsq-bridge --help` runs the installed console script and names each command under its own name."""
    out = run_installed(installed, tmp_path, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: lsq-bridge [OPTIONS] COMMAND [ARGS]...")
    for command in ("up", "worker", "migrate", "check-config", "transform", "send-sample", "sandbox"):
        assert f"\n  {command} " in out.stdout


def test_installed_bridge_reads_its_schema_migrations_and_samples(installed: Path, tmp_path: Path) -> None:
    """Installed, migrate, check-config and send-sample find the files they read beside the installed code."""
    out = run_installed(installed, tmp_path, "migrate", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    current = f"database schema is current (sqlite:///{tmp_path}/x.db)\n"
    assert (out.returncode, out.stdout) == (0, current), out.stderr
    example = str(ROOT / "bridge.example.toml")
    environ = {
        "BRIDGE_CONFIG": example,
        "RAZORPAY_WEBHOOK_SECRET": "s",
        "BRIDGE_ERASURE_KEY": "erasure-key-of-the-install-test",
        "LSQ_HOST": "api-in21.leadsquared.com",
    }
    environ.update(LSQ_ACCESS_KEY="a", LSQ_SECRET_KEY="b")
    out = run_installed(installed, tmp_path, "check-config", **environ)
    assert (out.returncode, out.stdout.splitlines()[-1]) == (0, f"{example}: OK"), out.stderr
    # The sample is found and signed; nothing listens on port 9, so only the post fails.
    out = run_installed(
        installed,
        tmp_path,
        "send-sample",
        "razorpay",
        "payment.captured",
        "--url",
        "http://127.0.0.1:9",
        **environ,
    )
    assert out.returncode == 1
    assert out.stderr.startswith(
        "cannot send: could not reach the bridge at http://127.0.0.1:9/webhooks/razorpay"
    )
