"""The commands that run until stopped: up, worker, sandbox.

Each takes the environment from the click context (ctx.obj, set by main) and
imports what it runs only when it runs: a worker should not load the
sandbox's Flask app, nor the sandbox the store.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Mapping
from types import FrameType

import click

from bridge import services

log = logging.getLogger("bridge")


def _web_port_default() -> int:
    """Return $PORT or 8000 from the environment main put on the context."""
    return services.web_port(click.get_current_context().obj)


@click.command(
    short_help="run web, worker (and the sandbox when no LeadSquared keys are set) on this machine"
)
@click.option(
    "--port",
    type=int,
    default=_web_port_default,
    help="port of the webhook receiver (default: $PORT or 8000)",
)
@click.option("--sandbox-port", type=int, default=8090, help="port of the sandbox (default 8090)")
@click.pass_obj
def up(environ: Mapping[str, str], port: int, sandbox_port: int) -> int:
    """Run every process of a single-machine bridge until interrupted.

    Migrates the store, then runs web and worker; with no LSQ_ACCESS_KEY set it
    also runs the sandbox, points the worker at it and fills unset webhook
    secrets with demo values it prints. Creates bridge.toml from
    bridge.example.toml when neither it nor BRIDGE_CONFIG exists.
    """
    from bridge.cli.up import run_everything

    return run_everything(environ, services.source_registry(), port, sandbox_port)


@click.command(short_help="transform received webhooks, look up opportunities, deliver activities")
@click.pass_obj
def worker(environ: Mapping[str, str]) -> int:
    """Transform received webhooks, look up opportunities and deliver activities until SIGTERM or SIGINT.

    It also runs operators' bulk jobs and the retention purge ([retention] in
    bridge.toml), and needs BRIDGE_ERASURE_KEY (see the README, "Retention and erasure").
    With BRIDGE_ALERT_WEBHOOK_URL set ([alerts] in bridge.toml), it also
    looks at the alert conditions every few seconds and posts each start and
    clear once (README, Monitoring, Alerts). Serves /metrics, /healthz and
    /readyz on WORKER_METRICS_BIND:WORKER_METRICS_PORT (default 127.0.0.1:9101).
    """
    from bridge.alerts.monitor import AlertChore
    from bridge.monitor.exposition import metrics_registry
    from bridge.monitor.worker_server import WorkerMonitor, worker_readiness
    from bridge.observe.logs import configure_logging
    from bridge.operate.jobs import JobRunner
    from bridge.operate.retention import Purger
    from bridge.pipeline.worker import Worker
    from bridge.store.engine import make_engine
    from bridge.store.migrate import ensure_current

    wired = services.build_services(environ, services.source_registry(), process="worker")
    configure_logging(wired.secret_values())
    ensure_current(wired.engine)
    worker_loop = Worker(wired, chores=[JobRunner, AlertChore, Purger])
    # Its own connection: a readiness probe never waits for, or holds, a delivery thread's.
    probe_engine = make_engine(wired.settings.database_url, 1, pool_timeout_seconds=2.0)
    monitor = WorkerMonitor(
        services.worker_metrics_address(environ),
        metrics_registry(),
        worker_readiness(worker_loop.heartbeat.fresh, probe_engine),
    )
    monitor.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on signal", extra={"action": "stop", "signal": signal.Signals(signum).name})
        worker_loop.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        worker_loop.run()
    finally:
        monitor.stop()
        probe_engine.dispose()
    return 0


@click.command(short_help="serve a local imitation of LeadSquared's API for trials and tests")
@click.option("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=8090, help="port to listen on (default 8090; 0 picks a free one)")
@click.option("--latency", type=float, default=0.0, help="seconds before each answer (default 0)")
@click.option(
    "--calls-per-window", type=int, default=25, help="calls allowed per window and access key (default 25)"
)
@click.option("--window-seconds", type=float, default=5.0, help="length of the rate-limit window (default 5)")
@click.option(
    "--rate-limit-status",
    type=click.Choice([429, 403]),
    default=429,
    help="status of an answer over the limit (default 429)",
)
@click.option(
    "--error-rate",
    type=float,
    default=0.0,
    help="share of bulk calls answered 500 MXUnknownException, storing nothing (default 0)",
)
@click.option(
    "--rate-limit-rate",
    type=float,
    default=0.0,
    help="share of bulk calls answered an extra 429 within the limit, storing nothing (default 0)",
)
@click.option(
    "--lost-answer-rate",
    type=float,
    default=0.0,
    help="share of bulk calls whose rows are stored, then the connection closed unanswered (default 0)",
)
@click.option("--fault-seed", type=int, help="seed of the random faults, to repeat a run (default: fresh)")
@click.option(
    "--access-key", help="access key it accepts (default: $SANDBOX_ACCESS_KEY or u$rsandbox-access)"
)
@click.pass_obj
def sandbox(
    environ: Mapping[str, str],
    host: str,
    port: int,
    latency: float,
    calls_per_window: int,
    window_seconds: float,
    rate_limit_status: int,
    error_rate: float,
    rate_limit_rate: float,
    lost_answer_rate: float,
    fault_seed: int | None,
    access_key: str | None,
) -> int:
    """Serve the LeadSquared sandbox until interrupted (its API is in the README, "The sandbox")."""
    from bridge.sandbox import SandboxSettings
    from bridge.sandbox.server import serve_forever
    from bridge.sandbox.settings import FaultRates

    # Plain lines, in place of the JSON warnings every command starts with (bridge.cli.main.run).
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    default_access_key, secret_key = services.sandbox_keys(environ)
    try:
        rates = FaultRates(error_rate, rate_limit_rate, lost_answer_rate)
    except ValueError as error:
        click.echo(f"sandbox: {error} (--error-rate, --rate-limit-rate, --lost-answer-rate)", err=True)
        return 2
    settings = SandboxSettings(
        access_key=access_key or default_access_key,
        secret_key=secret_key,
        calls_per_window=calls_per_window,
        window_seconds=window_seconds,
        latency_seconds=latency,
        rate_limit_status=rate_limit_status,
        fault_rates=rates,
        fault_seed=fault_seed,
    )
    serve_forever(settings, host, port)
    return 0
