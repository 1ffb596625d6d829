"""The contract's receiving half: every registered kind's samples, signed and posted, are stored once.

The pure half (signatures, golden activities, the example configuration)
is tests/unit/test_contract.py, whose helpers this file reuses.
"""

from __future__ import annotations

import json
import time

import pytest

from bridge import create_app
from bridge.services import Services
from bridge.sources.kind import SourceKind
from bridge.sources.senders import signed_request, webhook_path, with_query
from bridge.sources.signatures.echoed_field import CHECKED
from bridge.sources.signatures.scheme import SealedScheme
from bridge.store.engine import make_engine
from bridge.store.tables import events
from tests.conftest import OPENED_ENGINES
from tests.support import count
from tests.unit.test_contract import (
    KINDS,
    example_kind,
    example_settings,
    example_source,
    sample_headers,
    samples_of,
    secret_of,
)
from transforms import REGISTRY


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_signed_post_is_accepted_once(kind: SourceKind, database_url: str) -> None:
    """Each sample, signed and posted, is accepted; the same delivery again is not queued twice."""
    settings = example_settings(DATABASE_URL=database_url)
    services = Services(settings, make_engine(settings.database_url), REGISTRY)
    OPENED_ENGINES.append(services.engine)
    client = create_app(services).test_client()
    source = example_source(kind)
    kind = example_kind(kind)
    secret = secret_of(kind)
    for number, path in enumerate(samples_of(kind), start=1):
        body, signed, query = signed_request(kind.signature, path.read_bytes(), secret, time.time())
        headers = {"Content-Type": kind.content_type, **signed, **sample_headers(kind, path)}
        url = with_query(webhook_path(source.name, kind.signature, secret), query)
        assert client.post(url, data=body, headers=headers).status_code == 202
        assert client.post(url, data=body, headers=headers).status_code == 200
        assert count(services, events) == number
        with services.engine.connect() as connection:
            newest = connection.execute(events.select().order_by(events.c.id.desc())).first()
        assert newest is not None and newest.event_type == path.stem, "samples are named <event type>"
        # A sealed kind's row holds the opened sample, never what was posted; a kind that echoes a
        # secret (Ozonetel's Apikey) the body with the secret replaced; other kinds' the body posted.
        if isinstance(kind.signature, SealedScheme):
            assert bytes(newest.body) == path.read_bytes()
        elif kind.echo is not None:
            stored = json.loads(bytes(newest.body))
            assert stored == {**json.loads(body), kind.echo.field: CHECKED}
        else:
            assert bytes(newest.body) == body
