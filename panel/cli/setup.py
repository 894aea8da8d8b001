"""First-run set-up used by `make run`: the first admin and the embedded node."""
from __future__ import annotations

import os
import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Node, Tier
from panel.services.actor import Actor
from panel.services.nodes import NodeSpec, create_node
from panel.services.users import ensure_first_admin


@click.command("setup")
@click.option("--admin-email", default=lambda: os.environ.get("TEGAMI_ADMIN_EMAIL", "admin@tegami.test"),
              show_default="admin@tegami.test or $TEGAMI_ADMIN_EMAIL")
@with_appcontext
def setup_command(admin_email: str) -> None:
    """Create the first admin (password from $TEGAMI_ADMIN_PASSWORD or generated) and a node."""
    password = os.environ.get("TEGAMI_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    admin = ensure_first_admin(admin_email, password)
    if admin is not None:
        shown = "(from TEGAMI_ADMIN_PASSWORD)" if os.environ.get("TEGAMI_ADMIN_PASSWORD") else password
        click.echo(f"First admin created: {admin.email} / {shown}")
        click.echo("This password is shown only once; change it after logging in.")
    if not db.session.scalar(select(func.count(Node.id))):
        node = create_node(Actor.system("setup"), NodeSpec(
            name=os.environ.get("TEGAMI_NODE_NAME", "node1"),
            hostname=os.environ.get("TEGAMI_NODE_HOSTNAME", "mail.localhost"),
            ip=os.environ.get("TEGAMI_NODE_IP", "127.0.0.1"),
            tier=Tier.SHARED,
        ))
        click.echo(f"Mail node created: {node.name} ({node.hostname})")
