"""The command line: up, worker, migrate, check-config, transform, send-sample, sandbox.

main takes the environment from the composition root (bridge.services) once
and hands it, with the source registry, to the command it runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from bridge import services
from bridge.config.load import ConfigError

log = logging.getLogger("bridge")

DESCRIPTION = """\
lsq-bridge: signed payment and KYC webhooks in, LeadSquared activities out.

Configuration comes from bridge.toml (or BRIDGE_CONFIG); secrets only from the
environment: each source's secret_env (e.g. RAZORPAY_WEBHOOK_SECRET),
LSQ_HOST / LSQ_ACCESS_KEY / LSQ_SECRET_KEY for LeadSquared, DATABASE_URL for
the store (default sqlite:///bridge.db). The web process is gunicorn (see
Procfile); these commands are the rest.
"""


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Parse the command line and run one command in environ (the process's); return the exit status."""
    environ = services.environment() if environ is None else environ
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args, environ))
    except ConfigError as error:
        print("configuration error:\n  " + "\n  ".join(error.problems), file=sys.stderr)
        return 2


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """Return the parser with every command and its options, defaults taken from environ."""
    parser = argparse.ArgumentParser(
        prog="python -m bridge", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up", help="run web, worker (and the sandbox when no LeadSquared keys are set) on this machine"
    )
    up.add_argument(
        "--port",
        type=int,
        default=services.web_port(environ),
        help="port of the webhook receiver (default: $PORT or 8000)",
    )
    up.add_argument("--sandbox-port", type=int, default=8090, help="port of the sandbox (default 8090)")
    up.set_defaults(run=run_up)

    worker = commands.add_parser(
        "worker", help="transform received webhooks, look up opportunities, deliver activities"
    )
    worker.set_defaults(run=run_worker)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(run=run_migrate)

    check = commands.add_parser(
        "check-config", help="validate bridge.toml and the environment, naming each problem"
    )
    check.add_argument("path", nargs="?", help="configuration file (default: $BRIDGE_CONFIG or bridge.toml)")
    check.set_defaults(run=run_check_config)

    transform = commands.add_parser(
        "transform", help="print the LeadSquared calls a payload would become (a dry run), or why none"
    )
    transform.add_argument("source", help="a source name from the configuration, e.g. razorpay")
    transform.add_argument(
        "payload", type=Path, help="a file holding one delivery's body (JSON, or the form PayU posts)"
    )
    transform.add_argument(
        "--event-type",
        help="the event type, for sources that send it in a header (GitHub-style: X-GitHub-Event)",
    )
    transform.set_defaults(run=run_transform)

    send = commands.add_parser(
        "send-sample", help="post a correctly signed sample delivery to a running bridge"
    )
    send.add_argument("source", help="a source name from the configuration, e.g. razorpay")
    send.add_argument("event_type", help="e.g. payment.captured (the samples are in transforms/samples/)")
    send.add_argument(
        "--url", default="http://127.0.0.1:8000", help="the bridge (default http://127.0.0.1:8000)"
    )
    send.set_defaults(run=run_send_sample)

    sandbox = commands.add_parser(
        "sandbox", help="serve a local imitation of LeadSquared's API for trials and tests"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8090)
    sandbox.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    sandbox.add_argument("--calls-per-window", type=int, default=25)
    sandbox.add_argument("--window-seconds", type=float, default=5.0)
    sandbox.add_argument("--rate-limit-status", type=int, choices=(429, 403), default=429)
    sandbox.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of bulk calls answered 500 MXUnknownException, storing nothing (default 0)",
    )
    sandbox.add_argument(
        "--rate-limit-rate",
        type=float,
        default=0.0,
        help="share of bulk calls answered an extra 429 within the limit, storing nothing (default 0)",
    )
    sandbox.add_argument(
        "--lost-answer-rate",
        type=float,
        default=0.0,
        help="share of bulk calls whose rows are stored, then the connection closed unanswered (default 0)",
    )
    sandbox.add_argument(
        "--fault-seed", type=int, help="seed of the random faults, to repeat a run (default: fresh)"
    )
    sandbox.add_argument(
        "--access-key",
        help="access key it accepts (default: $SANDBOX_ACCESS_KEY or u$rsandbox-access)",
    )
    sandbox.set_defaults(run=run_sandbox)
    return parser


def run_worker(_args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run the worker until SIGTERM or SIGINT."""
    from bridge.observe.logs import configure_logging
    from bridge.operate.jobs import JobRunner
    from bridge.pipeline.worker import Worker
    from bridge.store.migrate import ensure_current

    wired = services.build_services(environ, services.source_registry(), process="worker")
    configure_logging(wired.settings.secret_values())
    ensure_current(wired.engine)
    worker = Worker(wired, chores=[JobRunner])

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on signal", extra={"action": "stop", "signal": signal.Signals(signum).name})
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()
    return 0


def run_migrate(_args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Bring the database schema to the latest migration."""
    from bridge.store.migrate import upgrade_to_head

    engine = services.open_store(environ)
    upgrade_to_head(engine)
    print(f"database schema is current ({engine.url.render_as_string(hide_password=True)})")
    return 0


def run_check_config(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Validate the configuration and the environment; exit 2 with every problem."""
    from bridge.config.check import check_configuration

    path = args.path or services.config_path(environ)
    loaded = services.configuration(environ, services.source_registry(), path)
    warnings = check_configuration(loaded.settings, loaded.kinds)
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"{path}: OK")
    return 0


def run_transform(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Print the calls a payload would become; exit 1 saying why when it becomes none."""
    from bridge.cli.workbench import WorkbenchError, dry_run

    loaded = services.configuration(environ, services.source_registry(), require_secrets=False)
    try:
        body = args.payload.read_bytes()
        calls = dry_run(loaded.settings, loaded.kinds, args.source, body, args.event_type)
    except (WorkbenchError, OSError) as error:
        print(f"cannot transform: {error}", file=sys.stderr)
        return 1
    for call in calls:
        print(f"POST {call.url}")
        print(json.dumps(call.body, indent=2, ensure_ascii=False))
    return 0


def run_send_sample(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Post a signed sample; print the bridge's answer; exit 1 unless it was 2xx."""
    from bridge.cli.workbench import WorkbenchError, send_sample

    loaded = services.configuration(environ, services.source_registry(), require_secrets=False)
    try:
        answer = send_sample(loaded.settings, loaded.kinds, args.source, args.event_type, args.url)
    except WorkbenchError as error:
        print(f"cannot send: {error}", file=sys.stderr)
        return 1
    print(f"{answer.status_code} {answer.text.strip()}")
    return 0 if answer.ok else 1


def run_sandbox(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Serve the LeadSquared sandbox until interrupted."""
    from bridge.sandbox import SandboxSettings
    from bridge.sandbox.server import serve_forever
    from bridge.sandbox.settings import FaultRates

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    access_key, secret_key = services.sandbox_keys(environ)
    try:
        rates = FaultRates(args.error_rate, args.rate_limit_rate, args.lost_answer_rate)
    except ValueError as error:
        print(f"sandbox: {error} (--error-rate, --rate-limit-rate, --lost-answer-rate)", file=sys.stderr)
        return 2
    settings = SandboxSettings(
        access_key=args.access_key or access_key,
        secret_key=secret_key,
        calls_per_window=args.calls_per_window,
        window_seconds=args.window_seconds,
        latency_seconds=args.latency,
        rate_limit_status=args.rate_limit_status,
        fault_rates=rates,
        fault_seed=args.fault_seed,
    )
    serve_forever(settings, args.host, args.port)
    return 0


def run_up(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run every process of a single-machine bridge until interrupted."""
    from bridge.cli.up import run_everything

    return run_everything(environ, services.source_registry(), args.port, args.sandbox_port)
