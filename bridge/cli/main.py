"""The command line: the `lsq-bridge` group, and the line that registers each command.

main takes the environment from the composition root (bridge.services) once
and puts it on the click context (ctx.obj), where every command reads it:
no command reads os.environ. Commands live in small modules beside this one
(processes, release, trial) and return their exit status; this module only
assembles them, so a new command is a module and one add_command line below.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import click

from bridge import services
from bridge.cli import act, inspect, processes, release, retain, trial
from bridge.config.load import ConfigError
from bridge.operate.actions import OperateError
from bridge.operate.filters import FilterError

DESCRIPTION = """\
lsq-bridge: signed payment and KYC webhooks in, LeadSquared activities out.

Configuration comes from bridge.toml (or BRIDGE_CONFIG); secrets only from the
environment: each source's secret_env (e.g. RAZORPAY_WEBHOOK_SECRET),
LSQ_HOST / LSQ_ACCESS_KEY / LSQ_SECRET_KEY for LeadSquared, DATABASE_URL for
the store (default sqlite:///bridge.db), BRIDGE_ALERT_WEBHOOK_URL for alerts
(off while unset), BRIDGE_ERASURE_KEY for the keyed hashes that let `erase`
find a person's events (the worker needs it). The web process is gunicorn (see
Procfile); these commands are the rest.
"""


class CommandLine(click.Group):
    """A group that lists its commands in the order they were added and exits with their status.

    A command returns its exit status; one that returns None, as a plain click command does, exits 0.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the command names in registration order: up first, as a newcomer reads them."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command and exit with the status it returned, or 2 naming each configuration problem."""
        try:
            status = super().invoke(ctx)
        except ConfigError as error:
            click.echo("configuration error:\n  " + "\n  ".join(error.problems), err=True)
            status = 2
        except FilterError as error:
            click.echo(f"bad filter: {error}", err=True)
            status = 2
        except OperateError as error:
            # Bad input is a usage error (2); no such row, or a row in the wrong state, a refusal (1).
            click.echo(f"refused: {error.message}", err=True)
            status = 2 if error.status == 400 else 1
        # Exiting here, not in main, gives click's test runner and standalone calls the same status.
        ctx.exit(0 if status is None else int(status))


@click.group(
    "lsq-bridge",
    cls=CommandLine,
    help=DESCRIPTION,
    context_settings={"help_option_names": ["-h", "--help"]},
)
def cli() -> None:
    """The bridge's commands; ctx.obj is the environment main was given."""


cli.add_command(processes.up)
cli.add_command(processes.worker)
cli.add_command(release.migrate)
cli.add_command(release.check_config)
cli.add_command(trial.transform)
cli.add_command(trial.send_sample)
cli.add_command(processes.sandbox)
cli.add_command(inspect.events)
cli.add_command(inspect.activities)
cli.add_command(act.replay)
cli.add_command(act.retry)
cli.add_command(act.resolve)
cli.add_command(act.pause)
cli.add_command(act.resume)
cli.add_command(act.jobs)
cli.add_command(retain.purge)
cli.add_command(retain.erase)


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    prog_name: str = "lsq-bridge",
) -> int:
    """Run one command with argv (the process's) in environ (the process's); return the exit status."""
    environ = services.environment() if environ is None else environ
    try:
        return int(cli.main(argv, prog_name=prog_name, standalone_mode=False, obj=environ))
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1


def run(prog_name: str = "lsq-bridge") -> NoReturn:
    """Exit with main's status, its warnings logged through the redaction filter: the console script."""
    from bridge.observe.logs import configure_logging

    # An operator command (a replay whose transform raises, a store error) logs a warning with
    # its traceback: masked here as in the services' logs. `worker` puts its own in place, with
    # the configured secrets; the others never load them (their shell need not hold them).
    configure_logging((), level="WARNING")
    sys.exit(main(prog_name=prog_name))
