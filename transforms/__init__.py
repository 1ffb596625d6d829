"""Every webhook source the bridge knows, one module each, registered here."""

from __future__ import annotations

from bridge.sources.registry import SourceRegistry
from transforms import (
    calendly,
    cashfree,
    ccavenue,
    digio,
    easebuzz,
    exotel,
    generic_hmac,
    github,
    hyperverge,
    idfy,
    instamojo,
    leegality,
    meta_whatsapp,
    onfido,
    ozonetel,
    paytm,
    payu,
    persona,
    phonepe,
    phonepe_v2,
    plivo,
    razorpay,
    setu,
    signzy,
    standard_webhooks,
    stripe,
    twilio,
    zoom,
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
REGISTRY.register(exotel.SOURCE)
REGISTRY.register(leegality.SOURCE)
REGISTRY.register(calendly.SOURCE)
REGISTRY.register(easebuzz.SOURCE)
REGISTRY.register(instamojo.SOURCE)
REGISTRY.register(paytm.SOURCE)
REGISTRY.register(ccavenue.SOURCE)
REGISTRY.register(phonepe.SOURCE)
REGISTRY.register(phonepe_v2.SOURCE)
REGISTRY.register(meta_whatsapp.SOURCE)
REGISTRY.register(zoom.SOURCE)
REGISTRY.register(ozonetel.SOURCE)
REGISTRY.register(twilio.SOURCE)
REGISTRY.register(plivo.SOURCE)
