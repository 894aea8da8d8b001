"""`aliases`: forward an address (or a whole domain, `@example.jp`) to other addresses."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.cli.crud import add_delete_command, add_domain_list_command
from panel.models import Alias
from panel.services import aliases as service
from panel.services.actor import Actor

aliases = AppGroup("aliases", help="Aliases and catch-alls (@example.jp).")
destinations_option = click.option("--to", "destinations", multiple=True, required=True, metavar="ADDRESS",
                                   help="A destination; repeat for several.")


@aliases.command("create")
@click.argument("address")
@destinations_option
@operator_command
def create_alias(actor: Actor, address: str, destinations: tuple[str, ...]) -> Alias:
    """Forward ADDRESS (info@example.jp, or @example.jp for a catch-all) to --to addresses."""
    local, domain_name = lookup.split_address(address)
    return service.create_alias(actor, lookup.domain(actor, domain_name).id, local, list(destinations))


@aliases.command("update")
@click.argument("reference", metavar="ADDRESS|ID")
@destinations_option
@operator_command
def update_alias(actor: Actor, reference: str, destinations: tuple[str, ...]) -> Alias:
    """Replace an alias's destinations with the --to addresses given."""
    return service.update_alias(actor, lookup.alias(actor, reference).id, list(destinations))


add_domain_list_command(aliases, Alias, what="aliases")
add_delete_command(aliases, find=lookup.alias, remove=service.delete_alias, metavar="ADDRESS|ID",
                   describe=lambda alias: _("alias %(address)s", address=alias.display_source))
