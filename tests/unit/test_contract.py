"""The contract every registered source keeps, checked for each one automatically.

A new source needs its module in transforms/, registered in
transforms/__init__.py; its samples in transforms/samples/<kind>/ (named
<event><kind.sample_suffix>; a scheme that signs inside the body, such as
PayU's, re-signs each sample through signed_delivery, and a sealed one, such
as CCAvenue's, ships plaintext samples that signed_delivery seals); a golden
file per sample in tests/golden/<kind>/<event>.expected.json; and a source of
its kind in bridge.example.toml (switched off there if it is not a default).
These tests then cover it with no new code, down to the value names each
sample yields matching what the kind declares for its event type, and so does
tests/integration/test_contract_receiver.py, which posts every sample to a
real database.
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote_plus

import jsonschema
import pytest
from werkzeug.datastructures import Headers

from bridge.config.load import configured_kinds, load_settings
from bridge.config.settings import Settings, SourceSettings
from bridge.pipeline.transform import Delivery, Mapped, map_event
from bridge.sources.kind import SourceKind
from bridge.sources.payload import parse_form
from bridge.sources.senders import event_type_headers, signed_delivery, signed_request
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.scheme import (
    BodySignedScheme,
    FieldSignedScheme,
    SealedScheme,
    SecretExample,
    SignatureScheme,
    TokenScheme,
    verify_delivery,
)
from tests.conftest import ROOT
from transforms import REGISTRY

KINDS = sorted(REGISTRY, key=lambda kind: kind.name)
SAMPLES = ROOT / "transforms" / "samples"
GOLDEN = ROOT / "tests" / "golden"
# One secret every scheme can use: Standard Webhooks needs whsec_<base64>, the rest take any text.
SECRET = "whsec_Y29udHJhY3Qgc2VjcmV0IGZvciBldmVyeSBraW5kISE="
# Every named secret (secret_envs): a verify token, and the Apikey Ozonetel's sample echoes.
NAMED_SECRET = "KKcontract-ozonetel-api-key-0001"
BULK_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "leadsquared_bulk_request.json").read_text())


def secret_of(kind: SourceKind | None) -> str:
    """Return SECRET, or the kind's example of a secret where it takes one shape only (Paytm's key)."""
    scheme = kind.signature if kind is not None else None
    return scheme.example_secret(SECRET) if isinstance(scheme, SecretExample) else SECRET


def covered_offsets(kind: SourceKind, scheme: FieldSignedScheme, body: bytes) -> list[int]:
    """Return the offset of the first byte of each non-empty field the scheme's signature covers."""
    if kind.parse is not parse_form:
        # A JSON body (Leegality's): the first byte of each covered field's value, after its name.
        fields = kind.parse(body)
        names = scheme.covered_fields({name: str(value) for name, value in fields.items()})
        return [body.index(str(fields[n]).encode(), body.index(n.encode()) + len(n)) for n in names]
    covered = set(scheme.covered_fields(parse_form(body)))
    offsets, start = [], 0
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        if value and unquote_plus(name.decode()) in covered:
            offsets.append(start + len(name) + 1)
        start += len(pair) + 1
    return offsets


def example_environ() -> dict[str, str]:
    """Return the variables bridge.example.toml names: each source's secret, as its kind takes one, and
    every named secret (NAMED_SECRET: the Apikey the Ozonetel sample echoes)."""
    names = load_settings(ROOT / "bridge.example.toml", {}, REGISTRY, require_secrets=False).sources
    secrets = {source.secret_env: secret_of(REGISTRY.get(source.kind)) for source in names.values()}
    return secrets | {env: NAMED_SECRET for source in names.values() for env in source.secret_envs.values()}


@functools.cache
def example_settings(**environ: str) -> Settings:
    """Load bridge.example.toml with a secret for every source it names, each source switched on.

    Sources a deployment does not use are `enabled = false` in the example;
    the contract holds for every one of them all the same. Loaded once per
    environment (Settings is frozen and no test changes it): validating the
    example is most of this tier's time.
    """
    settings = load_settings(ROOT / "bridge.example.toml", {**example_environ(), **environ}, REGISTRY)
    sources = {name: replace(source, enabled=True) for name, source in settings.sources.items()}
    return replace(settings, sources=sources)


def example_source(kind: SourceKind) -> SourceSettings:
    """Return the example configuration's source of this kind."""
    found = [s for s in example_settings().sources.values() if s.kind == kind.name]
    assert found, f"bridge.example.toml must show the built-in source {kind.name!r}"
    return found[0]


def example_kind(kind: SourceKind) -> SourceKind:
    """Return the kind as the example's source of it configures it (its scheme table, if any)."""
    return configured_kinds(example_settings(), REGISTRY)[example_source(kind).name]


def sample_headers(kind: SourceKind, path: Path) -> Headers:
    """Return the headers a sample needs besides its signature: a header-typed kind's event type."""
    return Headers(event_type_headers(kind, path.stem))


def samples_of(kind: SourceKind) -> list[Path]:
    """Return the kind's sample deliveries; every source ships at least one."""
    paths = sorted((SAMPLES / kind.name).glob(f"*{kind.sample_suffix}"))
    assert paths, f"transforms/samples/{kind.name}/ holds no sample delivery"
    return paths


def check_delivery(
    scheme: SignatureScheme,
    body: bytes,
    headers: Headers,
    token: str,
    now: float,
    secret: str = SECRET,
    query: str = "",
) -> None:
    """Verify a delivery as the receiver does, the source holding secret: a URL token, else headers, query."""
    if isinstance(scheme, TokenScheme) and scheme.in_path:
        scheme.verify_path_token(token, [secret])
    else:
        verify_delivery(scheme, body, headers, query, [secret], now)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_signatures_round_trip_and_a_flipped_byte_fails(kind: SourceKind) -> None:
    """What sign() makes, verify() accepts; one flipped byte of the body (or another token) is refused."""
    kind, secret = example_kind(kind), secret_of(kind)
    now = time.time()
    for path in samples_of(kind):
        body, signed, query = signed_request(kind.signature, path.read_bytes(), secret, now)
        headers = Headers(signed)
        check_delivery(kind.signature, body, headers, secret, now, secret, query)
        if isinstance(kind.signature, SealedScheme):
            # What the receiver stores: the sample as the provider sealed it, byte for byte.
            assert kind.signature.unseal(body, [secret]) == path.read_bytes()
        if isinstance(kind.signature, TokenScheme):
            # A token covers no byte of the body (check-config warns about it); another token fails.
            forged = Headers(kind.signature.sign(body, "other-secret", now))
            with pytest.raises(SignatureError):
                check_delivery(kind.signature, body, forged, "other-secret", now)
            continue
        offsets = [0, len(body) // 2, len(body) - 1]
        if isinstance(kind.signature, BodySignedScheme):
            # A signature inside the body may cover only some fields (PayU's hash leaves
            # mihpayid, mode, error_Message, ... unsigned), so a byte flipped at an arbitrary
            # offset need not be refused: a scheme that names its covered fields has one flipped in each.
            if not isinstance(kind.signature, FieldSignedScheme):
                continue
            offsets = covered_offsets(kind, kind.signature, body)
            assert offsets, f"{kind.name}: the signature covers no field of {path.name}"
        for index in offsets:
            flipped = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
            with pytest.raises(SignatureError):
                verify_delivery(kind.signature, flipped, headers, query, [secret], now)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_stale_timestamp_fails_where_one_is_signed(kind: SourceKind) -> None:
    """Where the scheme signs a timestamp, a signature older or newer than the tolerance is refused."""
    kind = example_kind(kind)
    tolerance = kind.signature.tolerance_seconds
    if tolerance is None:
        pytest.skip(f"{kind.name} signs no timestamp: replays stop at the idempotency key")
    now = time.time()
    body, _ = signed_delivery(kind.signature, samples_of(kind)[0].read_bytes(), secret_of(kind), now)
    for skew in (-tolerance - 5, tolerance + 5):
        headers = Headers(kind.signature.sign(body, secret_of(kind), now + skew))
        with pytest.raises(SignatureError):
            kind.signature.verify(body, headers, [secret_of(kind)], now)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_samples_match_their_golden_activities(kind: SourceKind) -> None:
    """Each sample, under the example configuration, becomes exactly its golden activities."""
    source = example_source(kind)
    account = example_settings().accounts[source.account]
    for path in samples_of(kind):
        golden = GOLDEN / kind.name / f"{path.stem}.expected.json"
        assert golden.is_file(), f"{golden.relative_to(ROOT)} is missing"
        expected = json.loads(golden.read_text())
        body = path.read_bytes()
        configured = example_kind(kind)
        event_type = configured.type_of(sample_headers(configured, path), configured.parse(body))
        delivery = Delivery("evt_golden", event_type, body)
        outcome = map_event(delivery, source, configured, account)
        assert isinstance(outcome, Mapped), outcome
        assert [a.opportunity_id for a in outcome.activities] == [expected["opportunity_id"]] * len(
            outcome.activities
        )
        assert [a.request for a in outcome.activities] == expected["activities"]
        jsonschema.validate([a.request for a in outcome.activities], BULK_SCHEMA)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_each_sample_yields_exactly_the_values_its_event_type_declares(kind: SourceKind) -> None:
    """Each activity a sample yields has exactly the names values_of() lists, the ones a mapping may use."""
    configured = example_kind(kind)
    for path in samples_of(kind):
        payload = configured.parse(path.read_bytes())
        event_type = configured.type_of(sample_headers(configured, path), payload)
        assert event_type == path.stem, "samples are named <event type>"
        declared = configured.values_of(event_type)
        assert declared is not None, f"{kind.name} declares no values for {event_type!r}"
        activities = configured.transform(event_type, payload)
        assert activities, f"{kind.name} {event_type}: the sample yields no activity"
        for values in activities:
            assert sorted(values) == sorted(declared), f"{kind.name} {event_type}"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_example_shows_the_source_under_its_own_name_and_secret(kind: SourceKind) -> None:
    """bridge.example.toml has [sources.<kind>] with <KIND>_WEBHOOK_SECRET, switched off unless a default."""
    source = example_settings().sources.get(kind.name)
    assert source is not None, f"bridge.example.toml needs a [sources.{kind.name}] block"
    assert source.kind == kind.name
    assert source.secret_env == f"{kind.name.upper()}_WEBHOOK_SECRET"
    enabled = load_settings(ROOT / "bridge.example.toml", {}, REGISTRY, require_secrets=False).sources
    assert enabled[kind.name].enabled == (kind.name == "razorpay"), "only razorpay is on by default"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_every_example_mapping_traces_back_to_the_provider(kind: SourceKind) -> None:
    """Each example event puts one value in both a custom field and the note: the provider's id."""
    source = example_source(kind)
    for event_type, mapping in source.events.items():
        in_note = set(re.findall(r"{(\w+)}", mapping.note or ""))
        in_fields = {field.value for field in mapping.fields.values() if field.value}
        assert in_note & in_fields, f"{kind.name} {event_type}: no id in both a field and the note"


def test_no_two_example_sources_post_the_same_activity_type() -> None:
    """Each example source has activity codes of its own: one type holding two providers' events misleads."""
    owners: dict[int, str] = {}
    for source in example_settings().sources.values():
        for event_type, mapping in source.events.items():
            code = mapping.activity_event
            owner = owners.setdefault(code, source.name)
            assert owner == source.name, f"{source.name} {event_type} reuses {owner}'s activity code {code}"
