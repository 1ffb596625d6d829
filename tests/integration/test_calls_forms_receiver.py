"""Exotel, Leegality, Calendly, Typeform and Tally through the webhook endpoint and the workbench.

The fact sheet's vectors are posted as they are to the example's sources;
`send-sample` posts each new source's sample to a bridge served over HTTP,
and `transform` dry-runs it. The pure checks are in
tests/unit/test_forms_and_bookings.py, test_exotel.py and test_leegality.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli.main import main
from bridge.services import Services
from bridge.store.engine import make_engine
from bridge.store.tables import events
from tests.conftest import OPENED_ENGINES, ROOT
from tests.support import count
from tests.unit.test_contract import SECRET, example_settings
from tests.unit.test_forms_and_bookings import VECTORS
from transforms import REGISTRY

# Each new source and the sample send-sample posts for it.
NEW_SOURCES = {
    "exotel": "completed",
    "leegality": "Success",
    "calendly": "invitee.created",
    "typeform": "form_response",
    "tally": "FORM_RESPONSE",
}
EXAMPLE = ROOT / "bridge.example.toml"


def example_services(database_url: str, **environ: str) -> Services:
    """Open services on the example configuration, every source switched on with the contract's secret."""
    settings = example_settings(DATABASE_URL=database_url, **environ)
    services = Services(settings, make_engine(settings.database_url), REGISTRY)
    OPENED_ENGINES.append(services.engine)
    return services


def example_client(database_url: str, **environ: str) -> tuple[FlaskClient, Services]:
    """Return a test client of a bridge on the example configuration, and its services."""
    services = example_services(database_url, **environ)
    return create_app(services).test_client(), services


@pytest.mark.parametrize("source_name", sorted(VECTORS))
def test_the_fact_sheets_vector_is_accepted_once(
    source_name: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vector's body and header, posted as given (at the time it was signed), is stored once."""
    secret, body, sent, signed_at = VECTORS[source_name]
    secret_env = f"{source_name.upper()}_WEBHOOK_SECRET"
    client, services = example_client(database_url, **{secret_env: secret})
    # The receiver reads the clock once per delivery: Calendly's vector was signed in 2023.
    monkeypatch.setattr("bridge.web.checks.time.time", lambda: float(signed_at))
    headers = {"Content-Type": "application/json", **sent}
    first = client.post(f"/webhooks/{source_name}", data=body, headers=headers)
    again = client.post(f"/webhooks/{source_name}", data=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200), first.json
    assert count(services, events) == 1
    forged = client.post(f"/webhooks/{source_name}", data=body.replace(b"}", b" }", 1), headers=headers)
    assert (forged.status_code, forged.get_json()["error"]) == (401, "bad_signature")


def test_a_stale_calendly_signature_is_401(database_url: str) -> None:
    """Posted now, the vector signed in 2023 is refused as stale, and nothing is stored."""
    secret, body, sent, _ = VECTORS["calendly"]
    client, services = example_client(database_url, CALENDLY_WEBHOOK_SECRET=secret)
    headers = {"Content-Type": "application/json", **sent}
    answer = client.post("/webhooks/calendly", data=body, headers=headers)
    assert (answer.status_code, answer.get_json()["error"]) == (401, "stale_timestamp")
    assert count(services, events) == 0


@pytest.fixture
def running_example(database_url: str) -> Iterator[tuple[str, Services]]:
    """A bridge on the example configuration served over HTTP on a free port."""
    services = example_services(database_url)
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", services
    server.shutdown()


def test_send_sample_and_transform_work_for_every_new_source(
    running_example: tuple[str, Services],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each new source's sample is accepted by a running bridge, and dry-runs to a call."""
    url, services = running_example
    monkeypatch.setenv("BRIDGE_CONFIG", str(EXAMPLE))
    for source_name, event_type in NEW_SOURCES.items():
        monkeypatch.setenv(f"{source_name.upper()}_WEBHOOK_SECRET", SECRET)
        assert main(["send-sample", source_name, event_type, "--url", url]) == 0, capsys.readouterr()
        assert capsys.readouterr().out.startswith("202 ")
        kind = services.kinds[source_name]
        sample = ROOT / "transforms" / "samples" / source_name / f"{event_type}{kind.sample_suffix}"
        assert main(["transform", source_name, str(sample)]) == 0, capsys.readouterr()
        assert capsys.readouterr().out.startswith("POST https://")
    with services.engine.connect() as connection:
        stored = {(row.source, row.event_type) for row in connection.execute(events.select())}
    assert stored == set(NEW_SOURCES.items())
