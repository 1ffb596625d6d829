"""What a deploy runs before the processes start: migrate (the Procfile's release), check-config."""

from __future__ import annotations

from collections.abc import Mapping

import click

from bridge import services


@click.command(short_help="create or upgrade the database schema")
@click.pass_obj
def migrate(environ: Mapping[str, str]) -> int:
    """Bring the database schema DATABASE_URL names to the latest migration."""
    from bridge.store.migrate import upgrade_to_head

    engine = services.open_store(environ)
    upgrade_to_head(engine)
    click.echo(f"database schema is current ({engine.url.render_as_string(hide_password=True)})")
    return 0


@click.command("check-config", short_help="validate bridge.toml and the environment, naming each problem")
@click.argument("path", required=False)
@click.pass_obj
def check_config(environ: Mapping[str, str], path: str | None) -> int:
    """Validate the configuration file PATH and the environment; exit 2 naming every problem.

    PATH defaults to $BRIDGE_CONFIG, else bridge.toml. Weak choices (no
    key_field, plain http) are printed as warnings and do not fail the check.
    """
    from bridge.config.check import check_configuration

    path = path or services.config_path(environ)
    loaded = services.configuration(environ, services.source_registry(), path)
    for warning in check_configuration(loaded.settings, loaded.kinds):
        click.echo(f"warning: {warning}")
    click.echo(f"{path}: OK")
    return 0
