"""The command line's group in process: the environment it is given, exit statuses, usage errors, help."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bridge.cli.main import CommandLine, cli, main
from bridge.sources.registry import SourceRegistry
from tests.conftest import ROOT


@pytest.fixture
def started_up(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Replace what `up` starts with a recorder; return what it was called with."""
    calls: dict[str, object] = {}

    def record(environ: Mapping[str, str], _registry: SourceRegistry, port: int, sandbox_port: int) -> int:
        calls.update(environ=environ, port=port, sandbox_port=sandbox_port)
        return 0

    monkeypatch.setattr("bridge.cli.up.run_everything", record)
    return calls


def test_up_takes_its_port_default_from_the_environ_main_was_given(started_up: dict[str, object]) -> None:
    """up's --port defaults to PORT of the environ passed to main, not of the process."""
    environ = {"PORT": "9123"}
    assert main(["up"], environ) == 0
    assert started_up == {"environ": environ, "port": 9123, "sandbox_port": 8090}


def test_up_port_defaults_to_8000_and_gives_way_to_the_flag(started_up: dict[str, object]) -> None:
    """Without PORT, --port is 8000; given, the flag wins over PORT."""
    assert main(["up"], {}) == 0
    assert started_up["port"] == 8000
    assert main(["up", "--port", "8100", "--sandbox-port", "8190"], {"PORT": "9123"}) == 0
    assert (started_up["port"], started_up["sandbox_port"]) == (8100, 8190)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "Usage: lsq-bridge"),
        (["bogus"], "No such command 'bogus'"),
        (["up", "--port", "eighty"], "'eighty' is not a valid integer"),
        (["sandbox", "--rate-limit-status", "500"], "'500' is not one of '429', '403'"),
        (["transform", "razorpay"], "Missing argument 'PAYLOAD'"),
    ],
)
def test_usage_errors_exit_2_with_clicks_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command line that cannot be parsed exits 2 and says what is wrong, running nothing."""
    assert main(argv, {}) == 2
    assert message in capsys.readouterr().err


def test_configuration_errors_exit_2_naming_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ConfigError from any command prints every problem under "configuration error:" and exits 2."""
    missing = tmp_path / "missing.toml"
    assert main(["check-config", str(missing)], {}) == 2
    assert capsys.readouterr().err.startswith(f"configuration error:\n  {missing}: no such file")


def test_help_lists_the_commands_in_registration_order(capsys: pytest.CaptureFixture[str]) -> None:
    """--help (and -h) exits 0 and lists up first, then the rest in the order main.py adds them."""
    for flag in ("--help", "-h"):
        assert main([flag], {}) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: lsq-bridge [OPTIONS] COMMAND [ARGS]...")
    commands = ["up", "worker", "migrate", "check-config", "transform", "send-sample", "sandbox"]
    listed = [line.split()[0] for line in out.split("Commands:")[-1].splitlines() if line.startswith("  ")]
    assert [name for name in listed if name in commands] == commands


def test_the_group_gives_clicks_runner_the_commands_exit_status(tmp_path: Path) -> None:
    """Invoked as click's test runner does (standalone, obj given), a command's status is the exit code."""
    result = CliRunner().invoke(cli, ["check-config", str(tmp_path / "missing.toml")], obj={})
    assert result.exit_code == 2
    assert "configuration error:" in result.output
    environ = {"BRIDGE_CONFIG": str(ROOT / "bridge.example.toml")}
    result = CliRunner().invoke(cli, ["transform", "razorpay", str(tmp_path / "none.json")], obj=environ)
    assert result.exit_code == 1
    assert "cannot transform:" in result.output


def test_a_returned_status_is_the_exit_status_and_none_is_0() -> None:
    """In a CommandLine group a command's returned int is its exit status; a plain one (None) exits 0."""
    group = CommandLine("probe")
    group.add_command(click.Command("quiet", callback=lambda: None))
    group.add_command(click.Command("failing", callback=lambda: 3))
    assert CliRunner().invoke(group, ["quiet"]).exit_code == 0
    assert CliRunner().invoke(group, ["failing"]).exit_code == 3
    assert group.main(["failing"], standalone_mode=False) == 3
