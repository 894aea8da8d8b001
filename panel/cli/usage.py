"""`usage`: collect maild's usage reports, issue node tokens, set cleanup policies."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.cli.nodes import find_node
from panel.cli.plans import find_plan
from panel.services import usage as service
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.usage_reports import collect, issue_node_token

usage = AppGroup("usage", help="Usage reports from maild, node tokens and cleanup policies.")

DAYS = click.IntRange(0, service.MAX_POLICY_DAYS)


@usage.command("collect")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path),
              help="maild's state directory (default: the MAILD_DATA_DIR setting).")
def collect_command(data: Path | None) -> None:
    """Apply the usage reports this machine's maild wrote, then delete them (run from cron)."""
    rejected = 0
    for path, result in collect(data or Path(current_app.config["MAILD_DATA_DIR"])):
        if isinstance(result, Invalid):
            rejected += 1
            click.echo(_("%(file)s rejected: %(reason)s", file=path.name, reason=result.message), err=True)
        else:
            click.echo(_("%(file)s: %(count)d mailboxes updated", file=path.name, count=result.mailboxes))
    if rejected:
        raise SystemExit(1)


@usage.command("token")
@click.argument("node", metavar="ID|NAME")
@operator_command
def token_command(actor: Actor, node: str) -> None:
    """Issue a new usage token for a remote node (printed once; the old one stops working)."""
    click.echo(issue_node_token(actor, find_node(actor, node).id))


@usage.command("cleanup-policy")
@click.option("--domain", metavar="ID|NAME", help="The domain to set (empty days: the plan's default).")
@click.option("--plan", metavar="ID", help="The plan whose default to set (empty days: never).")
@click.option("--trash-days", type=DAYS, help="Expunge Trash and Junk messages older than this (0: never).")
@click.option("--archive-days", type=DAYS, help="Move INBOX messages older than this to Archive (0: never).")
@operator_command
def policy_command(actor: Actor, domain: str | None, plan: str | None, trash_days: int | None,
                   archive_days: int | None) -> Any:
    """Set the cleanup policy of a domain, or the default of a plan's domains."""
    if (domain is None) == (plan is None):
        raise click.UsageError("Give exactly one of --domain or --plan.")
    if domain is not None:
        return service.set_domain_cleanup(actor, lookup.domain(actor, domain).id, trash_days, archive_days)
    return service.set_plan_cleanup(actor, find_plan(actor, str(plan)).id, trash_days, archive_days)
