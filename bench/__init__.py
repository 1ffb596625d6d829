"""Benchmarks of lsq-bridge: ingest rate and latency, drain pace, memory. Run `python -m bench.run`."""
