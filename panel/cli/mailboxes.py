"""`mailboxes`: addresses with a password and a quota, inside the customer's plan."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.command import operator_command, password_option, password_options
from panel.cli.crud import add_delete_command, add_domain_list_command, add_passwd_command
from panel.cli.params import SIZE
from panel.models import Mailbox
from panel.services import mailboxes as service
from panel.services.actor import Actor

mailboxes = AppGroup("mailboxes", help="Mailboxes: address, password, quota.")


@mailboxes.command("create")
@click.argument("address")
@click.option("--quota", type=SIZE, help="500M, 2G, 1.5GiB or bytes (default: the plan's default quota).")
@password_option
@operator_command
def create_mailbox(actor: Actor, address: str, quota: int | None, password: str) -> Mailbox:
    """Create the mailbox ADDRESS (user@example.jp)."""
    local, domain_name = lookup.split_address(address)
    return service.create_mailbox(actor, lookup.domain(actor, domain_name).id, local, quota, password)


@mailboxes.command("update")
@click.argument("reference", metavar="ADDRESS|ID")
@click.option("--quota", type=SIZE, help="New quota: 500M, 2G, 1.5GiB or bytes.")
@click.option("--enable/--disable", "enabled", default=None, help="Allow or refuse logins and delivery.")
@operator_command
def update_mailbox(actor: Actor, reference: str, quota: int | None, enabled: bool | None) -> Mailbox:
    """Change a mailbox's quota or switch it on or off."""
    mailbox = lookup.mailbox(actor, reference)
    return service.update_mailbox(actor, mailbox.id, mailbox.quota_bytes if quota is None else quota,
                                  mailbox.enabled if enabled is None else enabled)


@mailboxes.command("apop")
@click.argument("reference", metavar="ADDRESS|ID")
@click.option("--enable/--disable", "enabled", required=True, help="Turn APOP logins on or off.")
@password_options(required=False)
@operator_command
def set_apop(actor: Actor, reference: str, enabled: bool, password: str | None) -> Mailbox:
    """Allow APOP logins (the plan must allow it; give the mailbox's current password) or stop them."""
    return service.set_apop(actor, lookup.mailbox(actor, reference).id, enabled, password)


add_domain_list_command(mailboxes, Mailbox, what="mailboxes")
add_passwd_command(mailboxes, find=lookup.mailbox, set_password=service.set_password, metavar="ADDRESS|ID",
                   what="mailbox")
add_delete_command(mailboxes, find=lookup.mailbox, remove=service.delete_mailbox, metavar="ADDRESS|ID",
                   describe=lambda mailbox: _("mailbox %(address)s", address=mailbox.display_email))
