"""The composition root: the one place that reads the environment and lists the sources.

Every process and command starts here: the command line takes the environment
and the registry from environment() and source_registry() once and passes them
to the builders below, which load the configuration, open the store and wire
the Services the web app and the worker run on. Nothing below this module
reads os.environ or imports transforms.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import sqlalchemy as sa

from bridge.config.load import Configuration, configured_kinds, database_url, load_configuration
from bridge.config.settings import DEFAULT_CONFIG_PATH, Settings
from bridge.sources.kind import SourceKind
from bridge.sources.registry import SourceRegistry
from bridge.sources.signatures.scheme import secret_forms
from bridge.store.engine import make_engine, make_reader
from transforms import REGISTRY

ADMIN_PASSWORD_ENV = "BRIDGE_ADMIN_PASSWORD"
ADMIN_TOKEN_ENV = "BRIDGE_ADMIN_TOKEN"


@dataclass(frozen=True)
class Services:
    """What every process of the bridge runs on."""

    settings: Settings
    engine: sa.Engine
    registry: SourceRegistry
    # The kinds that loading the configuration built; None (Services built by hand) builds them here.
    loaded_kinds: Mapping[str, SourceKind] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def kinds(self) -> Mapping[str, SourceKind]:
        """Return each configured source's kind, built with its scheme table."""
        if self.loaded_kinds is not None:
            return self.loaded_kinds
        return configured_kinds(self.settings, self.registry)

    @cached_property
    def known_secrets(self) -> Mapping[str, tuple[str, ...]]:
        """Return each source's secrets, named secrets and the other texts they are known by, once.

        The stored headers mask these on every webhook; the log filter takes them all.
        """
        known = {}
        for name, source in self.settings.sources.items():
            forms = secret_forms(self.kinds[name].signature, source.secrets) if name in self.kinds else []
            known[name] = (*source.secrets, *source.named_secrets.values(), *forms)
        return known

    def secret_values(self) -> list[str]:
        """Return every secret in force and the other texts a source's secret is known by: for the logs."""
        known = [text for texts in self.known_secrets.values() for text in texts]
        return self.settings.secret_values() + known

    @cached_property
    def reader(self) -> sa.Engine:
        """Return the engine an operator's reads go through: on SQLite, one that holds up no writer."""
        return make_reader(self.engine, self.settings.database.web_pool_size)


def environment() -> Mapping[str, str]:
    """Return this process's environment: the only place the bridge reads os.environ."""
    return os.environ


def source_registry() -> SourceRegistry:
    """Return every source kind the bridge knows, as transforms/__init__.py registers them."""
    return REGISTRY


def config_path(environ: Mapping[str, str]) -> str:
    """Return the configuration file's path: BRIDGE_CONFIG, else bridge.toml."""
    return environ.get("BRIDGE_CONFIG") or DEFAULT_CONFIG_PATH


def configuration(
    environ: Mapping[str, str],
    registry: SourceRegistry,
    path: str | None = None,
    require_secrets: bool = True,
) -> Configuration:
    """Load the configuration file (path, else config_path) against the environment.

    Only tools that never receive a webhook (transform, send-sample) may pass
    require_secrets=False.
    """
    return load_configuration(path or config_path(environ), environ, registry, require_secrets)


def build_services(
    environ: Mapping[str, str],
    registry: SourceRegistry,
    process: Literal["web", "worker"] = "web",
    require_secrets: bool = True,
) -> Services:
    """Load the configuration, secrets required, and open the store with the process's pool size.

    Only an operator's command, which verifies no webhook, may pass require_secrets=False.
    """
    loaded = configuration(environ, registry, require_secrets=require_secrets)
    settings = loaded.settings
    pool_size = settings.database.web_pool_size if process == "web" else settings.worker_pool_size()
    engine = make_engine(settings.database_url, pool_size, settings.database.pool_timeout_seconds)
    return Services(settings, engine, registry, loaded.kinds)


def open_store(environ: Mapping[str, str]) -> sa.Engine:
    """Open the store DATABASE_URL names without loading the configuration, as migrate needs."""
    return make_engine(database_url(environ))


def worker_metrics_address(environ: Mapping[str, str]) -> tuple[str, int]:
    """Return where the worker serves /metrics and /readyz: WORKER_METRICS_BIND and WORKER_METRICS_PORT.

    Loopback and 9101 by default: Prometheus on the same machine, or an address set for it.
    """
    host = environ.get("WORKER_METRICS_BIND") or "127.0.0.1"
    return host, int(environ.get("WORKER_METRICS_PORT") or "9101")


def web_port(environ: Mapping[str, str]) -> int:
    """Return the webhook receiver's port: PORT, else 8000."""
    return int(environ.get("PORT", "8000"))


@dataclass(frozen=True)
class AdminCredentials:
    """What the admin process lets people in with: the console's password and the API's token."""

    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)


def admin_credentials(environ: Mapping[str, str]) -> AdminCredentials:
    """Return the console's password (BRIDGE_ADMIN_PASSWORD) and the API's token (BRIDGE_ADMIN_TOKEN)."""
    return AdminCredentials(
        password=environ.get(ADMIN_PASSWORD_ENV) or None,
        token=environ.get(ADMIN_TOKEN_ENV) or None,
    )


def admin_address(environ: Mapping[str, str]) -> tuple[str, int]:
    """Return where the admin process listens: ADMIN_BIND (else loopback) and ADMIN_PORT (else 8001)."""
    return environ.get("ADMIN_BIND") or "127.0.0.1", int(environ.get("ADMIN_PORT") or "8001")


def sandbox_keys(environ: Mapping[str, str]) -> tuple[str, str]:
    """Return the sandbox's access and secret key: SANDBOX_ACCESS_KEY and SANDBOX_SECRET_KEY, else its own."""
    # Imported here: the sandbox package loads its Flask app, which a worker should not carry.
    from bridge.sandbox.settings import SandboxSettings

    demo = SandboxSettings()
    return (
        environ.get("SANDBOX_ACCESS_KEY", demo.access_key),
        environ.get("SANDBOX_SECRET_KEY", demo.secret_key),
    )
