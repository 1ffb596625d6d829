"""One process's metrics as Prometheus reads them: this process's, or its gunicorn siblings' summed.

Under gunicorn (gunicorn.conf.py set PROMETHEUS_MULTIPROC_DIR before the app
loaded) every worker process writes its counters into a file of that folder,
and a scrape, whichever worker answers it, sums them all. Elsewhere the
counters are this process's own, in prometheus_client's global registry.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, values
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ProcessMetrics:
    """Forwards this process's own registry (its counters, CPU, memory, GC) into another registry."""

    def collect(self) -> Iterator[Metric]:
        """Yield every family of prometheus_client's global registry."""
        yield from REGISTRY.collect()


def is_multiprocess() -> bool:
    """Tell whether prometheus_client keeps values in per-process files (it chose when first imported)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def metrics_registry(*collectors: Collector) -> CollectorRegistry:
    """Return a registry of this process's (or its siblings') counters and the given collectors."""
    registry = CollectorRegistry(auto_describe=False)
    if is_multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(ProcessMetrics())
    for collector in collectors:
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """Return the registry in the Prometheus text format."""
    return generate_latest(registry)
