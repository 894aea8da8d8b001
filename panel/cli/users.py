"""`users`: staff logins of the provider, of resellers and of customers."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.command import operator_command, password_option
from panel.cli.crud import add_delete_command, add_list_command, add_passwd_command
from panel.cli.customers import find_customer
from panel.cli.resellers import find_reseller
from panel.models import Role, User
from panel.services import users as service
from panel.services.actor import Actor

users = AppGroup("users", help="Staff logins: admins, reseller staff, customer staff.")
STAFF_ROLES = click.Choice([role.value for role in Role if role is not Role.MAILBOX])


@users.command("create")
@click.argument("email")
@click.option("--role", type=STAFF_ROLES, required=True, help="What the login may manage.")
@click.option("--reseller", metavar="ID|NAME", help="For reseller staff: the reseller.")
@click.option("--customer", "customer_id", metavar="ID", help="For customer staff: the customer.")
@click.option("--name", default="", help="The person's name.")
@password_option
@operator_command
def create_user(actor: Actor, email: str, role: str, reseller: str | None, customer_id: str | None,
                name: str, password: str) -> User:
    """Create a staff login EMAIL."""
    return service.create_user(
        actor, email, password, Role(role), name=name,
        reseller_id=None if reseller is None else find_reseller(actor, reseller).id,
        customer_id=None if customer_id is None else find_customer(actor, customer_id).id,
    )


add_passwd_command(users, find=lookup.user, set_password=service.set_user_password, metavar="EMAIL|ID",
                   what="staff login")
add_list_command(users, User, User.email, what="staff logins")
add_delete_command(users, find=lookup.user, remove=service.delete_user, metavar="EMAIL|ID",
                   describe=lambda user: _("login %(email)s", email=user.email))
