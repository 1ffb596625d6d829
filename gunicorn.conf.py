"""Gunicorn settings for the webhook receiver (the Procfile's web process).

A webhook's ack is a few milliseconds of CPU and one commit, never a call
out, so processes scale it and threads only add lock contention: measured
on two cores, 2 processes x 1 thread acked 768/s against 591/s for 2 x 4,
with a lower tail (`python -m bench.sweep`). gthread keeps connections
alive even with one thread. WEB_CONCURRENCY and WEB_THREADS override.
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 1)
# Providers time out after 5-10 s; a request that takes longer is already lost to them.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Access logs off: the app logs every refused delivery, and the events table holds the accepted ones.
accesslog = None
errorlog = "-"
