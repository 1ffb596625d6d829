"""Gunicorn settings for the webhook receiver (the Procfile's web process) and the admin process.

The admin process (the Procfile's admin line) runs with the same settings
but its own address and two workers, given on its command line, which
overrides this file: `--bind ${ADMIN_BIND:-127.0.0.1}:${ADMIN_PORT:-8001}`,
loopback unless told otherwise, never PORT.

A webhook's ack is a few milliseconds of CPU and one commit, never a call
out, so processes scale it: one per core. Each process serves its
connections with gevent (bridge.web.server.DeadlineGeventWorker), not with
threads: a gthread process with one thread is held by any client that
sends its request slowly, and two such clients stalled a two-core machine
(every /healthz timed out). Under gevent a slow client holds a greenlet,
which costs a few kilobytes and no CPU, and the process goes on serving
the others; the worker cuts off a request whose headers and body have not
all arrived within `[server] read_timeout_seconds` (bridge.toml, default
10 s) of its first byte, with 408. The ack's CPU work runs between gevent's
switches as it ran between thread switches; `python -m bench.slow_clients`
shows both models under slow clients, `python -m bench.versus` the ingest
rate against the threaded model.

worker_connections bounds the connections one process holds at once,
slow ones included; past it the listen backlog queues new connections.
SQLite and psycopg 3 calls run in the greenlet that makes them: the inbox's
transaction never yields between BEGIN and COMMIT, and psycopg waits on its
socket through the patched select when it is imported after the patching,
as it is here (the app is loaded in each worker, never in the master: do
not set preload_app). The store's pool is a hard bound with no overflow
(`[database] web_pool_size`, bridge/store/engine.py), so greenlets queue
for its connections.
WEB_CONCURRENCY and WEB_CONNECTIONS override; WEB_WORKER_CLASS=gthread
(with WEB_THREADS) runs the former threaded model, for comparison.
"""

import multiprocessing
import os
import shutil
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_class = os.environ.get("WEB_WORKER_CLASS") or "bridge.web.server.DeadlineGeventWorker"
# Read by gthread only.
threads = int(os.environ.get("WEB_THREADS") or 1)
# Read by gevent only: slow and idle keep-alive connections count; the store's pool
# ([database] web_pool_size in bridge.toml) bounds how many of them use the database at once.
worker_connections = int(os.environ.get("WEB_CONNECTIONS") or 1000)
# Providers time out after 5-10 s; a request that takes longer is already lost to them.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Access logs off: the app logs every refused delivery, and the events table holds the accepted ones.
accesslog = None
errorlog = "-"
# gunicorn's control socket (gunicornc) is one path per user by default, so the web and
# admin masters of one machine fought over it and the loser logged an ERROR at every start;
# nothing of the bridge uses it.
control_socket_disable = True

# Prometheus metrics (README, Monitoring): every worker process writes its counters into
# a file of one folder, which GET /metrics sums. Each master (web, admin) gets a folder of
# its own, named by its pid, so the two process groups never mix, and a fresh one at each
# start. prometheus_client chooses files or memory when it is first imported, so the
# variable is set here, in the master, before any worker loads the app; nothing in this
# file imports prometheus_client before it is set. BRIDGE_METRICS_DIR moves the folders
# (default: the temporary directory); gunicorn.conf.py reads it, like PORT, as the process
# starts.
METRICS_PARENT = os.environ.get("BRIDGE_METRICS_DIR") or os.path.join(
    tempfile.gettempdir(), "lsq-bridge-metrics"
)


def on_starting(server):
    """Give this master's workers a fresh metrics folder, drop those of dead masters, mask its logs."""
    role = "admin" if "admin" in str(getattr(server.app, "app_uri", "")) else "web"
    os.makedirs(METRICS_PARENT, exist_ok=True)
    for name in os.listdir(METRICS_PARENT):
        pid = name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(METRICS_PARENT, name), ignore_errors=True)
    folder = os.path.join(METRICS_PARENT, f"{role}-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    # gunicorn's loggers do not reach the app's handler: mask personal data and LeadSquared key
    # parameters in gunicorn's own lines, the master's included; each worker puts a filter that
    # also knows the configured secrets in this one's place when it loads the app.
    from bridge.observe.logs import RedactingFilter, guard_server_logs

    guard_server_logs(RedactingFilter())


def child_exit(server, worker):
    """Let the metrics forget the live gauges of a worker that exited; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove this master's metrics folder: its counts end with it."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and os.path.dirname(folder) == METRICS_PARENT:
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
