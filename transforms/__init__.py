"""Every webhook source the bridge knows, one module each, registered here."""

from __future__ import annotations

from bridge.sources import SourceRegistry
from transforms import razorpay

REGISTRY = SourceRegistry()
REGISTRY.register(razorpay.SOURCE)
