"""`resellers`: companies selling mail hosting to their own customers on an allowance."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.cli.crud import add_delete_command, add_list_command
from panel.cli.plans import find_allowance
from panel.models import Reseller
from panel.services import resellers as service
from panel.services.actor import Actor

resellers = AppGroup("resellers", help="Resellers and the allowance each one sells within.")
find_reseller = lookup.finder(Reseller, Reseller.name)


@resellers.command("create")
@click.argument("name")
@click.option("--allowance", required=True, metavar="ID|NAME", help="The reseller plan it sells within.")
@operator_command
def create_reseller(actor: Actor, name: str, allowance: str) -> Reseller:
    """Create a reseller on an allowance."""
    return service.create_reseller(actor, name, find_allowance(actor, allowance).id)


@resellers.command("update")
@click.argument("reference", metavar="ID|NAME")
@click.option("--name", help="New name.")
@click.option("--allowance", metavar="ID|NAME", help="Move to this reseller plan (refused if it sold more).")
@operator_command
def update_reseller(actor: Actor, reference: str, name: str | None, allowance: str | None) -> Reseller:
    """Rename a reseller or move it to another allowance."""
    reseller = find_reseller(actor, reference)
    allowance_id = reseller.reseller_plan_id if allowance is None else find_allowance(actor, allowance).id
    return service.update_reseller(actor, reseller.id, reseller.name if name is None else name, allowance_id)


add_list_command(resellers, Reseller, Reseller.name, what="resellers")
add_delete_command(resellers, find=find_reseller, remove=service.delete_reseller, metavar="ID|NAME",
                   describe=lambda reseller: _("reseller %(name)s", name=reseller.name))
