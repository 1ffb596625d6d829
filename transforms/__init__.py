"""Every webhook source the bridge knows, one module each, registered here."""

from __future__ import annotations

from bridge.sources.registry import SourceRegistry
from transforms import (
    cashfree,
    digio,
    generic_hmac,
    github,
    hyperverge,
    idfy,
    onfido,
    payu,
    persona,
    plivo,
    razorpay,
    setu,
    signzy,
    standard_webhooks,
    stripe,
    twilio,
)

REGISTRY = SourceRegistry()
REGISTRY.register(razorpay.SOURCE)
REGISTRY.register(stripe.SOURCE)
REGISTRY.register(persona.SOURCE)
REGISTRY.register(cashfree.SOURCE)
REGISTRY.register(setu.SOURCE)
REGISTRY.register(onfido.SOURCE)
REGISTRY.register(digio.SOURCE)
REGISTRY.register(payu.SOURCE)
REGISTRY.register(idfy.SOURCE)
REGISTRY.register(hyperverge.SOURCE)
REGISTRY.register(signzy.SOURCE)
REGISTRY.register(standard_webhooks.SOURCE)
REGISTRY.register(github.SOURCE)
REGISTRY.register(generic_hmac.SOURCE)
REGISTRY.register(twilio.SOURCE)
REGISTRY.register(plivo.SOURCE)
