"""Builders for the commands most groups share: create/update from a spec, list, delete."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from panel.cli import lookup
from panel.cli.command import confirm, operator_command, password_option, yes_option
from panel.cli.output import Deleted
from panel.cli.specs import SpecOption, spec_options, updated
from panel.models import Alias, Domain, Mailbox
from panel.services.actor import Actor

Finder = Callable[[Actor, str], Any]


def add_spec_commands(group: click.Group, spec: type, options: Sequence[SpecOption], *, find: Finder,
                      create: Callable[[Actor, Any], Any], update: Callable[[Actor, int, Any], Any],
                      what: str) -> None:
    """`create NAME [options]` and `update REF [--name] [options]` for a spec-based service."""

    @group.command("create", help=f"Create a {what}; options not given take the defaults shown.")
    @click.argument("name")
    @spec_options(spec, options, defaults=True)
    @operator_command
    def create_command(actor: Actor, name: str, **values: Any) -> Any:
        return create(actor, spec(name=name, **values))

    @group.command("update", help=f"Change a {what}; only the options given change.")
    @click.argument("reference")
    @click.option("--name", help="New name.")
    @spec_options(spec, options, defaults=False)
    @operator_command
    def update_command(actor: Actor, reference: str, **values: Any) -> Any:
        current = find(actor, reference)
        return update(actor, current.id, updated(spec, current, values))


def add_list_command(group: click.Group, model: type, *order_by: Any, what: str) -> None:
    """`list`: every object of `model` the actor may see."""

    @group.command("list", help=f"List the {what} you may see.")
    @operator_command
    def list_command(actor: Actor) -> list[Any]:
        return lookup.visible(actor, select(model).order_by(*order_by))


def add_domain_list_command(group: click.Group, model: type[Mailbox] | type[Alias], *, what: str) -> None:
    """`list [--domain NAME|ID]` for addresses, ordered by domain and local part."""

    @group.command("list", help=f"List the {what} you may see.")
    @click.option("--domain", "domain_name", metavar="NAME|ID", help=f"Only this domain's {what}.")
    @operator_command
    def list_command(actor: Actor, domain_name: str | None) -> list[Any]:
        stmt = (select(model).join(model.domain).options(contains_eager(model.domain))
                .order_by(Domain.name, model.local_part))
        if domain_name is not None:
            stmt = stmt.where(model.domain_id == lookup.domain(actor, domain_name).id)
        return lookup.visible(actor, stmt, model)


def add_passwd_command(group: click.Group, *, find: Finder, set_password: Callable[[Actor, int, str], Any],
                       metavar: str, what: str) -> None:
    """`passwd REF`: the new password from stdin, --password or a terminal prompt."""

    @group.command("passwd", help=f"Set the password of a {what}.")
    @click.argument("reference", metavar=metavar)
    @password_option
    @operator_command
    def passwd_command(actor: Actor, reference: str, password: str) -> Any:
        return set_password(actor, find(actor, reference).id, password)


def add_delete_command(group: click.Group, *, find: Finder, remove: Callable[[Actor, int], None],
                       describe: Callable[[Any], str], metavar: str = "ID") -> None:
    """`delete REF [--yes]`: asks first (saying what goes) unless --yes."""

    @group.command("delete", help=f"Delete by {metavar}; asks for confirmation unless --yes.")
    @click.argument("reference", metavar=metavar)
    @yes_option
    @operator_command
    def delete_command(actor: Actor, reference: str, yes: bool) -> Deleted:
        target = find(actor, reference)
        label = describe(target)
        confirm(yes, _("Delete %(what)s?", what=label))
        remove(actor, target.id)
        return Deleted(target.id, label)
