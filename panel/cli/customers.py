"""`customers`: the tenants, each on one plan, of the provider or of a reseller."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.cli.crud import add_delete_command
from panel.cli.plans import find_plan
from panel.cli.resellers import find_reseller
from panel.models import Customer
from panel.services import customers as service
from panel.services.actor import Actor

customers = AppGroup("customers", help="Customers (tenants) and their plans.")
find_customer = lookup.finder(Customer)


@customers.command("create")
@click.argument("name")
@click.option("--plan", "plan_id", required=True, metavar="ID", help="The plan it subscribes to.")
@click.option("--reseller", metavar="ID|NAME",
              help="The reseller it belongs to (default: the provider; as a reseller: itself).")
@operator_command
def create_customer(actor: Actor, name: str, plan_id: str, reseller: str | None) -> Customer:
    """Create a customer on a plan (a reseller's customer counts against its allowance)."""
    reseller_id = None if reseller is None else find_reseller(actor, reseller).id
    return service.create_customer(actor, name, find_plan(actor, plan_id).id, reseller_id)


@customers.command("list")
@click.option("--reseller", metavar="ID|NAME", help="Only this reseller's customers.")
@operator_command
def list_customers(actor: Actor, reseller: str | None) -> list[Customer]:
    """List the customers you may see."""
    stmt = select(Customer).order_by(Customer.name, Customer.id)
    if reseller is not None:
        stmt = stmt.where(Customer.reseller_id == find_reseller(actor, reseller).id)
    return lookup.visible(actor, stmt)


@customers.command("rename")
@click.argument("customer_id", metavar="ID")
@click.argument("name")
@operator_command
def rename_customer(actor: Actor, customer_id: str, name: str) -> Customer:
    """Give a customer a new name."""
    customer = find_customer(actor, customer_id)
    return service.update_customer(actor, customer.id, name, customer.plan_id)


@customers.command("set-plan")
@click.argument("customer_id", metavar="ID")
@click.argument("plan_id", metavar="PLAN_ID")
@operator_command
def set_plan(actor: Actor, customer_id: str, plan_id: str) -> Customer:
    """Move a customer to another plan (refused if it uses more than the plan allows)."""
    customer = find_customer(actor, customer_id)
    return service.update_customer(actor, customer.id, customer.name, find_plan(actor, plan_id).id)


add_delete_command(customers, find=find_customer, remove=service.delete_customer,
                   describe=lambda customer: _("customer %(name)s with all its domains, mailboxes and aliases",
                                               name=customer.name))
