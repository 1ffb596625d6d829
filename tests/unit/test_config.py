"""Configuration: bridge.toml and the environment, checked at start-up and by check-config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.config.check import pool_warnings
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


def problems_of(tmp_path: Path, text: str, environ: dict[str, str] = ENV) -> list[str]:
    """Load a configuration that must fail; return its problems."""
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, text), environ, REGISTRY)
    return caught.value.problems


def test_the_example_configuration_is_valid() -> None:
    """bridge.example.toml loads with only the Razorpay secret set."""
    settings = load_settings(ROOT / "bridge.example.toml", {"RAZORPAY_WEBHOOK_SECRET": "s"}, REGISTRY)
    assert settings.sources["razorpay"].secrets == ("s",)
    assert settings.accounts["main"].calls_per_window == 25
    assert settings.database_url == "sqlite:///bridge.db"
    assert settings.read_timeout_seconds == 10


def test_the_read_timeout_is_a_server_setting(tmp_path: Path) -> None:
    """[server] read_timeout_seconds reaches the settings; left out, it is 10 s."""
    line = "max_body_bytes = 65536"
    short = TEST_CONFIG.replace(line, f"{line}\nread_timeout_seconds = 1.5")
    assert load_settings(write_config(tmp_path, short), ENV, REGISTRY).read_timeout_seconds == 1.5
    assert load_settings(write_config(tmp_path), ENV, REGISTRY).read_timeout_seconds == 10


def test_pool_sizes_default_to_what_each_process_uses(tmp_path: Path) -> None:
    """Web processes get 5 connections; a worker one per delivery thread (25 here) plus its own 2."""
    settings = load_settings(write_config(tmp_path), ENV, REGISTRY)
    assert settings.database.web_pool_size == 5
    assert settings.delivery_threads() == 25
    assert settings.worker_pool_size() == 27


def test_a_worker_pool_below_its_threads_is_warned_about(tmp_path: Path) -> None:
    """worker_pool_size 8 for 25 delivery threads + 2 loads, with a warning naming both numbers."""
    text = TEST_CONFIG.replace("[server]", "[database]\nworker_pool_size = 8\n[server]")
    settings = load_settings(write_config(tmp_path, text), ENV, REGISTRY)
    [warning] = pool_warnings(settings)
    assert warning.startswith("database.worker_pool_size: 8 is below the worker's 25 delivery threads + 2")


def test_pool_sizes_follow_the_file(tmp_path: Path) -> None:
    """[database] sizes are taken as given; the worker's threads still follow its accounts."""
    text = TEST_CONFIG.replace("[server]", "[database]\nweb_pool_size = 2\nworker_pool_size = 8\n[server]")
    text = text.replace("max_in_flight = 25", "max_in_flight = 6")
    settings = load_settings(write_config(tmp_path, text), ENV, REGISTRY)
    assert settings.database.web_pool_size == 2
    assert settings.worker_pool_size() == 8
    assert settings.delivery_threads() == 6


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("activity_event = 201", 'activity_event = "201"'),
            "activity_event: '201' is not of type 'integer'",
        ),
        (("calls_per_window = 25", "calls_per_window = 0"), "accounts.main.calls_per_window: 0 is less than"),
        (('auth = "headers"', 'auth = "cookie"'), "accounts.main.auth: 'cookie' is not one of"),
        (('kind = "razorpay"', 'kind = "paypal"'), "sources.razorpay.kind: unknown kind 'paypal'"),
        (('account = "main"', 'account = "other"'), "sources.razorpay.account: no [accounts.other]"),
        (('mx_Custom_2 = "amount"', 'mx_Custom_2 = "amount_paise"'), "no value 'amount_paise'"),
        (('mx_Custom_2 = "amount"', 'Custom_2 = "amount"'), "'Custom_2' does not match"),
        (("{payment_id} captured", "{payment} captured"), ".note: cannot fill the template"),
        (('"payment.failed"', '"payment.bounced"'), "razorpay has no event 'payment.bounced'"),
        (('owner_email = "payments@example.com"', 'owner_email = "payments"'), "owner_email: 'payments'"),
        (("max_attempts = 3", "max_attempts = 3\nmax_retries = 4"), "'max_retries' was unexpected"),
        (("claim_lease_seconds = 30", "claim_lease_seconds = 12"), "12 s is too short for accounts.main"),
        (
            ("max_attempts = 3", "max_attempts = 3\nheartbeat_seconds = 2\nworker_stale_seconds = 5"),
            "delivery.worker_stale_seconds: 5 s is too close to heartbeat_seconds (2 s); make it at least 3",
        ),
        (("max_attempts = 3", "max_attempts = 3\nheartbeat_seconds = 0"), "heartbeat_seconds: 0 is less"),
        (("max_attempts = 3", "max_attempts = 3\nworker_stale_seconds = -1"), "worker_stale_seconds: -1"),
        (
            ("max_body_bytes = 65536", "max_body_bytes = 65536\nread_timeout_seconds = 0"),
            "server.read_timeout_seconds: 0 is less than or equal to the minimum of 0",
        ),
        (("[server]", "[database]\nweb_pool_size = 0\n[server]"), "database.web_pool_size: 0 is less than"),
        (("[server]", "[database]\nworker_pool_size = 1\n[server]"), "database.worker_pool_size: 1 is less"),
        (("[server]", "[database]\npool_size = 10\n[server]"), "'pool_size' was unexpected"),
    ],
)
def test_each_mistake_is_named_by_its_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    """A wrong value names the key it sits at and what is wrong with it."""
    problems = problems_of(tmp_path, TEST_CONFIG.replace(*change))
    assert any(expected in problem for problem in problems), problems


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    """A file that is not TOML is reported with the parser's position."""
    [problem] = problems_of(tmp_path, "[accounts\n")
    assert "bridge.toml: not valid TOML" in problem and "line 1" in problem


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    """A missing configuration file says how to provide one."""
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.toml", ENV, REGISTRY)
    assert "copy bridge.example.toml" in caught.value.problems[0]


def test_an_enabled_source_without_its_secret_stops_start_up(tmp_path: Path) -> None:
    """An unset RAZORPAY_WEBHOOK_SECRET stops start-up naming it; a previous secret alone is not enough."""
    environ = {k: v for k, v in ENV.items() if k != "RAZORPAY_WEBHOOK_SECRET"}
    environ["RAZORPAY_WEBHOOK_SECRET_PREVIOUS"] = "old"
    [problem] = problems_of(tmp_path, TEST_CONFIG, environ)
    assert "RAZORPAY_WEBHOOK_SECRET is not set" in problem


def test_a_disabled_source_needs_no_secret(tmp_path: Path) -> None:
    """A source switched off loads without its secret."""
    environ = {k: v for k, v in ENV.items() if k != "RAZORPAY_WEBHOOK_SECRET"}
    text = TEST_CONFIG.replace('kind = "razorpay"', 'kind = "razorpay"\nenabled = false')
    settings = load_settings(write_config(tmp_path, text), environ, REGISTRY)
    assert settings.sources["razorpay"].enabled is False


def test_postgres_urls_use_psycopg(tmp_path: Path) -> None:
    """A Heroku-style postgres:// DATABASE_URL is pointed at the psycopg 3 driver."""
    environ = {**ENV, "DATABASE_URL": "postgres://u:p@db.example.com/app"}
    settings = load_settings(write_config(tmp_path), environ, REGISTRY)
    assert settings.database_url == "postgresql+psycopg://u:p@db.example.com/app"


def test_check_config_passes_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config exits 0 on a good file and prints its warnings."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    text = TEST_CONFIG.replace('key_field = "mx_Custom_10"\n', "")
    assert main(["check-config", str(write_config(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert "no key_field" in out and "OK" in out


def test_check_config_names_missing_leadsquared_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config exits 2 naming each LeadSquared variable that is unset."""
    monkeypatch.setenv("RAZORPAY_WEBHOOK_SECRET", "s")
    for name in ("LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["check-config", str(write_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert all(f"{name} is not set" in err for name in ("LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"))


PATH_LINE = 'opportunity_id_path = "payload.payment.entity.notes.opportunity_id"'
LOOKUP_LINE = (
    'opportunity_lookup = { lead_field = "EmailAddress", path = "payload.payment.entity.email", '
    "opportunity_type = 12002 }"
)


def test_a_source_may_find_its_opportunity_by_a_lookup(tmp_path: Path) -> None:
    """opportunity_lookup instead of a path loads with its defaults, and an event's path overrides it."""
    text = TEST_CONFIG.replace(PATH_LINE, LOOKUP_LINE).replace(
        "activity_event = 202", f"activity_event = 202\n{PATH_LINE}"
    )
    events = load_settings(write_config(tmp_path, text), ENV, REGISTRY).sources["razorpay"].events
    captured, failed = events["payment.captured"], events["payment.failed"]
    assert captured.opportunity_id_path is None
    assert captured.opportunity_lookup is not None
    assert (captured.opportunity_lookup.lead_field, captured.opportunity_lookup.opportunity_type) == (
        "EmailAddress",
        12002,
    )
    lookup = captured.opportunity_lookup
    assert (lookup.method, lookup.cache_seconds, lookup.wait_seconds) == ("unique_field", 900, 1800)
    assert failed.opportunity_lookup is None
    assert failed.opportunity_id_path == "payload.payment.entity.notes.opportunity_id"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((PATH_LINE, ""), "sources.razorpay: no opportunity_id_path and no opportunity_lookup"),
        ((PATH_LINE, f"{PATH_LINE}\n{LOOKUP_LINE}"), "sources.razorpay: both opportunity_id_path and"),
        (
            ("activity_event = 202", f"activity_event = 202\n{PATH_LINE}\n{LOOKUP_LINE}"),
            "sources.razorpay.events.payment.failed: both opportunity_id_path and opportunity_lookup",
        ),
        (
            (PATH_LINE, LOOKUP_LINE.replace("12002", '"12002"')),
            "sources.razorpay.opportunity_lookup.opportunity_type: '12002' is not of type 'integer'",
        ),
        (
            (PATH_LINE, LOOKUP_LINE.replace(", opportunity_type = 12002", "")),
            "sources.razorpay.opportunity_lookup: 'opportunity_type' is a required property",
        ),
        (
            (PATH_LINE, LOOKUP_LINE.replace("}", ', method = "lead_first" }')),
            "sources.razorpay.opportunity_lookup.method: 'lead_first' is not one of",
        ),
        (
            (
                PATH_LINE,
                LOOKUP_LINE.replace('"EmailAddress"', '"mx_PAN"').replace(
                    "}", ', method = "lead_then_opportunities" }'
                ),
            ),
            "sources.razorpay.opportunity_lookup.lead_field: method lead_then_opportunities finds a lead "
            "only by EmailAddress, Phone, Mobile, not 'mx_PAN'",
        ),
    ],
)
def test_the_opportunity_needs_exactly_one_way(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    """Neither or both of opportunity_id_path and opportunity_lookup, or a bad look-up, names the key."""
    problems = problems_of(tmp_path, TEST_CONFIG.replace(*change))
    assert any(expected in problem for problem in problems), problems
    if "opportunity_id_path" in expected:
        assert any("give opportunity_id_path" in problem for problem in problems)


def test_check_config_warns_when_a_lookup_may_wait_past_the_delivery_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A look-up waiting as long as max_age_seconds passes check-config with a warning naming the key."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    text = TEST_CONFIG.replace(PATH_LINE, LOOKUP_LINE.replace("}", ", wait_seconds = 3600 }"))
    assert main(["check-config", str(write_config(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert "sources.razorpay.events.payment.captured: the look-up's wait_seconds (3600)" in out


def test_check_config_warns_when_heartbeats_cannot_beat_the_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stale limit as long as the lease passes check-config, with a warning that it changes nothing."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    text = TEST_CONFIG.replace("max_attempts = 3", "max_attempts = 3\nworker_stale_seconds = 30")
    assert main(["check-config", str(write_config(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert "delivery.worker_stale_seconds (30) is not below claim_lease_seconds (30)" in out
