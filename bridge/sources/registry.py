"""The registry of source kinds: each name once."""

from __future__ import annotations

from collections.abc import Iterator

from bridge.sources.kind import SourceKind


class SourceRegistry:
    """Source kinds by name; a name can be registered once."""

    def __init__(self) -> None:
        self._kinds: dict[str, SourceKind] = {}

    def register(self, kind: SourceKind) -> None:
        """Add a source kind, refusing a name that is taken."""
        if kind.name in self._kinds:
            raise ValueError(f"source kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> SourceKind | None:
        """Return the kind registered under name, if any."""
        return self._kinds.get(name)

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._kinds)

    def __iter__(self) -> Iterator[SourceKind]:
        return iter(self._kinds.values())
