"""Prometheus exposition and health for every process: /metrics, the store's gauges, the worker's server.

On the floor of bridge/operate: it may import services, store, pipeline and web.
The counters themselves live in bridge/observe/metrics.py, where every layer
can reach them.
"""
