"""Every webhook source the bridge knows, one module each, registered here."""

from __future__ import annotations

from bridge.sources import SourceRegistry
from transforms import cashfree, digio, onfido, payu, persona, razorpay, setu, stripe

REGISTRY = SourceRegistry()
REGISTRY.register(razorpay.SOURCE)
REGISTRY.register(stripe.SOURCE)
REGISTRY.register(persona.SOURCE)
REGISTRY.register(cashfree.SOURCE)
REGISTRY.register(setu.SOURCE)
REGISTRY.register(onfido.SOURCE)
REGISTRY.register(digio.SOURCE)
REGISTRY.register(payu.SOURCE)
