"""[server] metrics_allowed_ips: who may read /metrics, by default and as configured, and a wrong entry."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from bridge.config.load import ConfigError, load_settings
from bridge.services import worker_metrics_address
from tests.conftest import TEST_CONFIG, write_config
from transforms import REGISTRY

ENV = {"RAZORPAY_WEBHOOK_SECRET": "s", "LSQ_HOST": "h.example", "LSQ_ACCESS_KEY": "a", "LSQ_SECRET_KEY": "k"}
SERVER_LINE = "max_body_bytes = 65536"


def test_by_default_loopback_and_private_ranges_may_read_metrics(tmp_path: Path) -> None:
    """Left out, the setting lets loopback and 10/8 in and keeps a public address out."""
    settings = load_settings(write_config(tmp_path), ENV, REGISTRY)
    allowed = settings.metrics_networks
    assert any(ip_address("127.0.0.1") in network for network in allowed)
    assert any(ip_address("10.1.2.3") in network for network in allowed)
    assert not any(ip_address("203.0.113.7") in network for network in allowed)


def test_a_configured_list_replaces_the_default(tmp_path: Path) -> None:
    """metrics_allowed_ips names the only networks; an empty list lets nobody in."""
    text = TEST_CONFIG.replace(SERVER_LINE, f'{SERVER_LINE}\nmetrics_allowed_ips = ["10.9.0.0/16"]')
    assert load_settings(write_config(tmp_path, text), ENV, REGISTRY).metrics_networks == (
        ip_network("10.9.0.0/16"),
    )
    empty = TEST_CONFIG.replace(SERVER_LINE, f"{SERVER_LINE}\nmetrics_allowed_ips = []")
    assert load_settings(write_config(tmp_path, empty), ENV, REGISTRY).metrics_networks == ()


def test_an_entry_that_is_no_address_is_named(tmp_path: Path) -> None:
    """A wrong entry fails the configuration with the key's path."""
    text = TEST_CONFIG.replace(SERVER_LINE, f'{SERVER_LINE}\nmetrics_allowed_ips = ["prometheus.local"]')
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, text), ENV, REGISTRY)
    assert any("server.metrics_allowed_ips: " in problem for problem in caught.value.problems)


def test_the_worker_serves_its_metrics_on_loopback_9101_unless_told() -> None:
    """WORKER_METRICS_BIND and WORKER_METRICS_PORT move the worker's server."""
    assert worker_metrics_address({}) == ("127.0.0.1", 9101)
    assert worker_metrics_address({"WORKER_METRICS_BIND": "0.0.0.0", "WORKER_METRICS_PORT": "9200"}) == (
        "0.0.0.0",
        9200,
    )
