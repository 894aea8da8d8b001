"""Building blocks of the domain, mailbox and alias screens: the staff-only guard, address lists
and domain choices."""
from __future__ import annotations

from typing import TypeVar

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.interfaces import ORMOption
from wtforms.fields.choices import SelectChoice

from panel.extensions import db
from panel.models import Alias, Domain, Mailbox
from panel.models.base import to_unicode
from panel.services.access import get_visible, require_role, scope
from panel.services.domains import STAFF
from panel.web.listing import paginated
from panel.web.principal import current_actor

F = TypeVar("F", bound=FlaskForm)


@login_required
def staff_only() -> ResponseReturnValue | None:
    """`before_request` hook: staff pages only; a mailbox user gets 403 even on their own domain."""
    require_role(current_actor(), *STAFF)
    return None


def domain_filter() -> Domain | None:
    """The domain named by `?domain=<id>`, if any; a foreign or unknown id is a 404."""
    domain_id = request.args.get("domain", type=int)
    return None if domain_id is None else get_visible(current_actor(), Domain, domain_id)


def address_page(model: type[Mailbox] | type[Alias], *options: ORMOption) -> tuple[Pagination, Domain | None]:
    """One page of mailboxes or aliases (all visible, or `?domain=`'s) searched by address.

    One query per page: the domain is joined in, not loaded row by row.
    """
    domain = domain_filter()
    stmt = (select(model).join(model.domain).options(contains_eager(model.domain), *options)
            .order_by(Domain.name, model.local_part))
    if domain is not None:
        stmt = stmt.where(model.domain_id == domain.id)
    return paginated(stmt, model.local_part + "@" + Domain.name, model=model), domain


def with_domain_choices(form_class: type[F]) -> F:
    """`form_class` choosing among the actor's domains (Unicode), `?domain=` preselected."""
    chosen = domain_filter()
    form = form_class(domain_id=chosen.id if chosen else None)
    rows = db.session.execute(scope(current_actor(), select(Domain.id, Domain.name).order_by(Domain.name)))
    form.domain_id.choices = [SelectChoice(domain_id, to_unicode(name)) for domain_id, name in rows]  # type: ignore[attr-defined]
    return form


def no_domain_yet() -> ResponseReturnValue:
    flash(_("Add a domain first."), "info")
    return redirect(url_for("domains.create"))
