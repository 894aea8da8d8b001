"""`archive import-purges`: maild's retention purges into the audit log (daily, after `maild archive purge`)."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli.command import operator_command
from panel.services import archive as archive_service
from panel.services.actor import Actor

archive = AppGroup("archive", help="The mail archive of this panel's node (MAILD_DATA_DIR).")


@archive.command("import-purges")
@operator_command
def import_purges(actor: Actor) -> None:
    """Record each purge maild made in the audit log, once."""
    count = archive_service.import_purges(actor)
    click.echo(_("%(count)d purge(s) recorded in the audit log.", count=count))
