"""`domains`: a customer's mail domains, placed on a node by the plan's tier."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.cli.crud import add_delete_command
from panel.cli.customers import find_customer
from panel.models import Domain, DomainStatus
from panel.services import domains as service
from panel.services.actor import Actor

domains = AppGroup("domains", help="Mail domains of customers.")
STATUSES = click.Choice([status.value for status in DomainStatus])


@domains.command("create")
@click.argument("name")
@click.option("--customer", "customer_id", metavar="ID", help="The owner (not needed as a customer's staff).")
@click.option("--status", type=STATUSES, help="Admins only: skip the ownership check (default: pending).")
@operator_command
def create_domain(actor: Actor, name: str, customer_id: str | None, status: str | None) -> Domain:
    """Add a domain (Unicode or punycode) to a customer, within its plan."""
    customer = None if customer_id is None else find_customer(actor, customer_id).id
    return service.create_domain(actor, name, customer, None if status is None else DomainStatus(status))


@domains.command("list")
@click.option("--customer", "customer_id", metavar="ID", help="Only this customer's domains.")
@operator_command
def list_domains(actor: Actor, customer_id: str | None) -> list[Domain]:
    """List the domains you may see."""
    stmt = select(Domain).order_by(Domain.name)
    if customer_id is not None:
        stmt = stmt.where(Domain.customer_id == find_customer(actor, customer_id).id)
    return lookup.visible(actor, stmt)


@domains.command("status")
@click.argument("reference", metavar="NAME|ID")
@click.argument("status", type=STATUSES)
@operator_command
def set_status(actor: Actor, reference: str, status: str) -> Domain:
    """Activate or suspend a domain (admins and resellers)."""
    return service.set_domain_status(actor, lookup.domain(actor, reference).id, DomainStatus(status))


def _describe(domain: Domain) -> str:
    mailboxes, aliases = service.domain_contents(domain.id)
    return _("domain %(name)s with its %(mailboxes)d mailboxes and %(aliases)d aliases",
             name=domain.display_name, mailboxes=mailboxes, aliases=aliases)


add_delete_command(domains, find=lookup.domain, remove=service.delete_domain, describe=_describe,
                   metavar="NAME|ID")
