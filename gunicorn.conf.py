"""Gunicorn settings for the webhook receiver (the Procfile's web process).

Each worker is a process with its own store connections; threads let one
process overlap a request's database commit with the next request's HMAC.
WEB_CONCURRENCY and WEB_THREADS tune them without editing this file.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Providers time out after 5-10 s; a request that takes longer is already lost to them.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Access logs off: the app logs every accepted, duplicate and rejected delivery itself.
accesslog = None
errorlog = "-"
