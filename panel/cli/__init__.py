"""`flask --app wsgi ...` commands: operators' and scripts' door to the same services."""
from __future__ import annotations

from flask import Flask

from panel.bundle.cli import bundle_group
from panel.cli.aliases import aliases
from panel.cli.archive import archive
from panel.cli.certs import certs
from panel.cli.customers import customers
from panel.cli.dns import check_dns, verify  # noqa: F401 (add `check-dns` and `verify` to `domains`)
from panel.cli.domains import domains
from panel.cli.mailboxes import mailboxes
from panel.cli.nodes import nodes
from panel.cli.plans import allowances, plans
from panel.cli.resellers import resellers
from panel.cli.setup import setup_command
from panel.cli.usage import usage
from panel.cli.users import users

GROUPS = (plans, allowances, resellers, customers, nodes, domains, mailboxes, aliases, users, certs, usage, archive)


def register_cli(app: Flask) -> None:
    app.cli.add_command(setup_command)
    app.cli.add_command(bundle_group)
    for group in GROUPS:
        app.cli.add_command(group)
