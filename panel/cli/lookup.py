"""Objects named on the command line (an id, a domain name, an address), seen as the actor.

Every lookup goes through `access.scope`, so `--as` a reseller or customer cannot reach, or
learn of, another tenant's objects: they are simply not found.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from panel.cli.output import EXTRA_LOADS
from panel.extensions import db
from panel.models import Alias, Domain, Mailbox, User
from panel.models.base import to_idna
from panel.services.access import scope
from panel.services.actor import Actor
from panel.services.aliases import CATCH_ALL_INPUTS
from panel.services.errors import Invalid, NotFound

T = TypeVar("T")
# A reference of digits alone is an id (within the 32-bit id columns); anything else a name.
_ID = re.compile(r"[0-9]{1,9}")


def _find(actor: Actor, model: type[T], reference: str, by_name: Callable[[], Select[Any]]) -> T:
    """`model` with this id when the reference is a number, else the one `by_name` selects."""
    if _ID.fullmatch(reference.strip()):
        stmt = select(model).where(model.id == int(reference))  # type: ignore[attr-defined]
    else:
        stmt = by_name()
    found = db.session.scalars(scope(actor, stmt, model)).first()
    if found is None:
        raise _not_found(reference)
    return found


def _not_found(reference: str) -> NotFound:
    return NotFound(_("Not found: %(reference)s", reference=reference))


def finder(model: type[T], name_column: Any = None) -> Callable[[Actor, str], T]:
    """A lookup of `model` by id, or by its unique `name_column` when it has one."""

    def find(actor: Actor, reference: str) -> T:
        def by_name() -> Select[Any]:
            if name_column is None:
                raise _not_found(reference)
            return select(model).where(name_column == reference.strip())

        return _find(actor, model, reference, by_name)

    return find


def domain(actor: Actor, reference: str) -> Domain:
    """A domain by id or by name (Unicode or IDNA, a leading `@` allowed)."""

    def by_name() -> Select[Any]:
        try:
            name = to_idna(reference.strip().lstrip("@"))
        except ValueError:
            raise _not_found(reference) from None
        return select(Domain).where(Domain.name == name)

    return _find(actor, Domain, reference, by_name)


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain) of `local@domain`; the local part is '' for a catch-all `@domain`."""
    local, sep, domain_name = address.strip().rpartition("@")
    if not sep or not domain_name:
        raise Invalid("address", _("Enter a full address such as user@example.jp."))
    return local, domain_name


def _address(actor: Actor, model: type[Mailbox] | type[Alias], reference: str) -> Any:
    def by_name() -> Select[Any]:
        local, domain_name = split_address(reference)
        local = "" if model is Alias and local.strip() in CATCH_ALL_INPUTS else local.strip().lower()
        owner = domain(actor, domain_name)
        return select(model).where(model.domain_id == owner.id, model.local_part == local)

    return _find(actor, model, reference, by_name)


def mailbox(actor: Actor, reference: str) -> Mailbox:
    """A mailbox by id or by address."""
    return _address(actor, Mailbox, reference)


def alias(actor: Actor, reference: str) -> Alias:
    """An alias by id or by source address (`@domain` or `*@domain` for the catch-all)."""
    return _address(actor, Alias, reference)


def user(actor: Actor, reference: str) -> User:
    """A staff login by id or by e-mail address."""
    return _find(actor, User, reference,
                 lambda: select(User).where(User.email == reference.strip().lower()))


def visible(actor: Actor, stmt: Select[Any], model: type | None = None) -> list[Any]:
    """Every row of `stmt` (selecting `model`, by default its first entity) the actor may see,
    with what the output shows of each loaded up front."""
    model = model or stmt.column_descriptions[0]["entity"]
    stmt = stmt.options(*(selectinload(relation) for relation in EXTRA_LOADS.get(model, ())))
    return list(db.session.scalars(scope(actor, stmt, model)))
