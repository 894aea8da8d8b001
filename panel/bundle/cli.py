"""`flask --app wsgi bundle write`: rewrite every node's bundle (after a restore, a move, a fix)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from panel.bundle.publish import write_all

bundle_group = AppGroup("bundle", help="Mail node config bundles.")


@bundle_group.command("write")
def write_command() -> None:
    """Rewrite all nodes' bundles from the database."""
    written = write_all()
    for name, serial in written.items():
        click.echo(f"{name}: serial {serial}")
    if not written:
        click.echo("No mail nodes yet.")
