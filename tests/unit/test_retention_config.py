"""[retention] in bridge.toml: days globally and per source, the erasure key from the environment, checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config.load import ConfigError, erasure_key_problems, load_settings
from tests.conftest import ROOT, TEST_CONFIG, write_config
from transforms import REGISTRY

ENV = {"RAZORPAY_WEBHOOK_SECRET": "s", "BRIDGE_ERASURE_KEY": "erasure-key-for-the-unit-tests"}
SOURCE_LINE = 'owner_email = "payments@example.com"\n'


def load(tmp_path: Path, text: str, environ: dict[str, str] = ENV) -> object:
    """Load a configuration text against an environment."""
    return load_settings(write_config(tmp_path, text), environ, REGISTRY)


def test_the_defaults_keep_payloads_30_days_and_records_400(tmp_path: Path) -> None:
    """Without [retention], a source's payload goes after 30 days and its events after 400."""
    settings = load_settings(write_config(tmp_path), ENV, REGISTRY)
    assert (settings.payload_days("razorpay"), settings.events_days("razorpay")) == (30, 400)
    assert settings.payload_days("a-source-removed-since") == 30
    example = load_settings(ROOT / "bridge.example.toml", ENV, REGISTRY)
    assert example.retention.erasure_key_env == "BRIDGE_ERASURE_KEY"


def test_a_source_overrides_the_global_days(tmp_path: Path) -> None:
    """[retention] sets the default; a source's own retain_payload_days wins for that source."""
    text = TEST_CONFIG.replace(SOURCE_LINE, SOURCE_LINE + "retain_payload_days = 7\n")
    text += "\n[retention]\nretain_payload_days = 60\nretain_events_days = 365\n"
    settings = load_settings(write_config(tmp_path, text), ENV, REGISTRY)
    assert (settings.payload_days("razorpay"), settings.events_days("razorpay")) == (7, 365)
    assert settings.payload_days("stripe") == 60


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (
            "\n[retention]\nretain_payload_days = 90\nretain_events_days = 60\n",
            "retention.retain_events_days",
        ),
        ("\n[retention]\nretain_events_days = 20\n", "retention.retain_events_days"),
    ],
)
def test_records_kept_shorter_than_payloads_are_refused_naming_the_key(
    tmp_path: Path, extra: str, key: str
) -> None:
    """retain_events_days below retain_payload_days (global or a source's) is a problem naming the key."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, TEST_CONFIG + extra)
    assert any(problem.split(": ", 1)[1].startswith(key) for problem in caught.value.problems)
    per_source = TEST_CONFIG.replace(SOURCE_LINE, SOURCE_LINE + "retain_events_days = 10\n")
    with pytest.raises(ConfigError, match=r"sources\.razorpay\.retain_events_days: 10 is below"):
        load(tmp_path, per_source)


def test_zero_days_is_refused_by_the_schema(tmp_path: Path) -> None:
    """Days are whole numbers from 1: zero would erase what is still being delivered."""
    with pytest.raises(ConfigError, match="retain_payload_days"):
        load(tmp_path, TEST_CONFIG + "\n[retention]\nretain_payload_days = 0\n")


def test_the_erasure_key_comes_from_the_named_variable_and_is_redacted(tmp_path: Path) -> None:
    """The keys are read from the environment, kept out of repr, and on the log filter's list."""
    text = (
        TEST_CONFIG
        + '\n[retention]\nerasure_key_env = "OUR_KEY"\nprevious_erasure_key_envs = ["OUR_OLD_KEY"]\n'
    )
    environ = {**ENV, "OUR_KEY": "current-key-0123456789", "OUR_OLD_KEY": "older-key-0123456789"}
    settings = load_settings(write_config(tmp_path, text), environ, REGISTRY)
    assert settings.retention.erasure_keys == ("current-key-0123456789", "older-key-0123456789")
    assert "current-key" not in repr(settings)
    assert {"current-key-0123456789", "older-key-0123456789"} <= set(settings.secret_values())
    assert erasure_key_problems(settings) == []


def test_a_missing_or_short_key_is_a_problem_naming_the_variable_never_a_value(tmp_path: Path) -> None:
    """No key says which variable to set and how; a short one says it is too short without showing it."""
    settings = load_settings(write_config(tmp_path), {"RAZORPAY_WEBHOOK_SECRET": "s"}, REGISTRY)
    [missing] = erasure_key_problems(settings)
    assert "BRIDGE_ERASURE_KEY is not set" in missing and "openssl rand" in missing
    short = load_settings(write_config(tmp_path), {**ENV, "BRIDGE_ERASURE_KEY": "tiny-key"}, REGISTRY)
    [too_short] = erasure_key_problems(short)
    assert "fewer than 16" in too_short and "tiny-key" not in too_short
