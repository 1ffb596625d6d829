"""A local imitation of LeadSquared's activity API, for tests, benchmarks and demos."""

from __future__ import annotations

from bridge.sandbox.app import create_sandbox_app
from bridge.sandbox.server import SandboxServer, serve_forever, start_sandbox
from bridge.sandbox.settings import SandboxSettings

__all__ = [
    "SandboxServer",
    "SandboxSettings",
    "create_sandbox_app",
    "serve_forever",
    "start_sandbox",
]
