"""The admin app's GET /metrics: no login for Prometheus, the store's gauges, allowed addresses only."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from bridge import create_admin_app
from tests.conftest import TEST_CONFIG, make_services
from tests.integration.admin.conftest import CREDENTIALS


def test_a_stranger_on_loopback_reads_the_store_gauges(stranger: FlaskClient) -> None:
    """No login, no token: loopback gets the gauges of the configured account, read from the store."""
    answer = stranger.get("/metrics")
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    assert samples[("bridge_store_gauges_ok", ())] == 1
    assert samples[("bridge_activities", (("account", "main"), ("status", "pending")))] == 0
    assert samples[("bridge_account_limit", (("account", "main"),))] == 25
    assert samples[("bridge_workers_alive", ())] == 0
    assert "Set-Cookie" not in answer.headers


def test_an_address_outside_metrics_allowed_ips_finds_nothing(tmp_path: Path, database_url: str) -> None:
    """With metrics_allowed_ips naming another network, loopback gets 404 and no metric, on the admin app."""
    config = TEST_CONFIG.replace(
        "max_body_bytes = 65536", 'max_body_bytes = 65536\nmetrics_allowed_ips = ["10.9.0.0/16"]'
    )
    app = create_admin_app(make_services(tmp_path, database_url, None, config), CREDENTIALS)
    answer = app.test_client().get("/metrics")
    assert answer.status_code == 404
    assert "bridge_" not in answer.text
