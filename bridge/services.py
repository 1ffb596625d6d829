"""The composition root: settings, store and source registry, wired once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import sqlalchemy as sa

from bridge.config.load import configured_kinds, load_configuration
from bridge.config.settings import DEFAULT_CONFIG_PATH, Settings
from bridge.sources.kind import SourceKind
from bridge.sources.registry import SourceRegistry
from bridge.store.engine import make_engine


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


def config_path(environ: Mapping[str, str]) -> str:
    """Return the configuration file's path: BRIDGE_CONFIG, else bridge.toml."""
    return environ.get("BRIDGE_CONFIG") or DEFAULT_CONFIG_PATH


def build_services(environ: Mapping[str, str] | None = None) -> Services:
    """Load the configuration from the environment and open the store."""
    from transforms import REGISTRY  # the registry is the one place sources are listed

    environ = os.environ if environ is None else environ
    loaded = load_configuration(config_path(environ), environ, REGISTRY)
    settings = loaded.settings
    return Services(settings, make_engine(settings.database_url), REGISTRY, loaded.kinds)
