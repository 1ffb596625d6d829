"""[alerts] in bridge.toml: the URL from the environment, thresholds, and check-config's word on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.config.check import alert_warnings
from bridge.config.load import ConfigError, load_settings
from tests.conftest import ROOT, TEST_CONFIG, write_config
from transforms import REGISTRY

ENV = {
    "RAZORPAY_WEBHOOK_SECRET": "s",
    "LSQ_HOST": "api-in21.leadsquared.com",
    "LSQ_ACCESS_KEY": "u$r1",
    "LSQ_SECRET_KEY": "k",
    "BRIDGE_ERASURE_KEY": "erasure-key-for-the-unit-tests",
}
URL = "https://hooks.example.invalid/services/T0/B0/sink-key-123"
ALERTS = """
[alerts]
webhook_url_env = "OPS_ALERT_URL"
dead_per_hour = 3
oldest_pending_minutes = 12.5
worker_silent_seconds = 45
disabled = ["limit_lowered"]
"""


def test_alerts_are_off_without_the_url_and_take_defaults(tmp_path: Path) -> None:
    """With no [alerts] and no BRIDGE_ALERT_WEBHOOK_URL, alerts are off with their default thresholds."""
    alerts = load_settings(write_config(tmp_path), ENV, REGISTRY).alerts
    assert not alerts.enabled and alerts.webhook_url_env == "BRIDGE_ALERT_WEBHOOK_URL"
    assert (alerts.dead_per_hour, alerts.oldest_pending_minutes, alerts.worker_silent_seconds) == (
        10,
        30,
        120,
    )
    assert alert_warnings(load_settings(write_config(tmp_path), ENV, REGISTRY)) == [
        "alerts: BRIDGE_ALERT_WEBHOOK_URL is not set; alerts are off (README, Monitoring, Alerts)"
    ]


def test_the_url_comes_from_the_variable_named_and_is_kept_out_of_logs(tmp_path: Path) -> None:
    """[alerts] names the variable; its value turns alerts on, is redacted, adds the sender's connection."""
    settings = load_settings(
        write_config(tmp_path, TEST_CONFIG + ALERTS), {**ENV, "OPS_ALERT_URL": URL}, REGISTRY
    )
    alerts = settings.alerts
    assert alerts.enabled and alerts.webhook_url == URL
    assert (alerts.dead_per_hour, alerts.oldest_pending_minutes, alerts.worker_silent_seconds) == (
        3,
        12.5,
        45,
    )
    assert not alerts.watches("limit_lowered") and alerts.watches("account_paused")
    assert URL in settings.secret_values() and URL not in repr(settings)
    assert settings.worker_pool_size() == 25 + 2 + 1


def test_a_url_that_is_no_url_is_refused_without_showing_it(tmp_path: Path) -> None:
    """A value without http(s):// and a host fails start-up naming the variable, never the value."""
    with pytest.raises(ConfigError) as caught:
        load_settings(
            write_config(tmp_path), {**ENV, "BRIDGE_ALERT_WEBHOOK_URL": "hooks/sink-key-123"}, REGISTRY
        )
    [problem] = caught.value.problems
    assert "BRIDGE_ALERT_WEBHOOK_URL does not hold an http(s) URL" in problem
    assert "sink-key-123" not in problem


def test_unknown_alert_keys_and_conditions_are_refused(tmp_path: Path) -> None:
    """A misspelt key or an unknown condition in disabled fails with the key's path."""
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, TEST_CONFIG + "[alerts]\ndead_per_day = 3\n"), ENV, REGISTRY)
    assert any("dead_per_day" in problem for problem in caught.value.problems)
    with pytest.raises(ConfigError) as caught:
        load_settings(
            write_config(tmp_path, TEST_CONFIG + '[alerts]\ndisabled = ["paused"]\n'), ENV, REGISTRY
        )
    assert any("alerts" in problem and "paused" in problem for problem in caught.value.problems)


def test_check_config_warns_of_a_silence_threshold_a_late_worker_crosses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config passes but warns when worker_silent_seconds is not above worker_stale_seconds."""
    for name, value in {**ENV, "OPS_ALERT_URL": URL}.items():
        monkeypatch.setenv(name, value)
    text = TEST_CONFIG + ALERTS.replace("worker_silent_seconds = 45", "worker_silent_seconds = 5")
    assert main(["check-config", str(write_config(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert "alerts.worker_silent_seconds (5) is not above delivery.worker_stale_seconds (10)" in out
    assert URL not in out


def test_the_example_documents_every_alert_key() -> None:
    """bridge.example.toml mentions each [alerts] key the schema allows."""
    import json

    schema = json.loads((ROOT / "bridge" / "config" / "schema.json").read_text())
    example = (ROOT / "bridge.example.toml").read_text()
    assert "[alerts]" in example
    assert all(key in example for key in schema["properties"]["alerts"]["properties"])
