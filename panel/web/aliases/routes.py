"""Aliases and catch-alls: list, create, edit destinations, delete."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from panel.models import Alias
from panel.services import aliases
from panel.services.access import get_visible
from panel.web.aliases.forms import AliasDestinationsForm, AliasForm
from panel.web.domains.pages import (
    address_page, no_domain_yet, staff_only, with_domain_choices,
)
from panel.web.forms_common import confirm_delete, submit
from panel.web.principal import current_actor

bp = Blueprint("aliases", __name__, url_prefix="/aliases")
bp.before_request(staff_only)


def _list_url(alias: Alias) -> str:
    return url_for("aliases.index", domain=alias.domain_id)


@bp.get("/")
def index() -> ResponseReturnValue:
    page, domain = address_page(Alias, selectinload(Alias.destinations))
    return render_template("aliases/index.html", page=page, domain=domain)


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    form = with_domain_choices(AliasForm)
    if not form.domain_id.choices:
        return no_domain_yet()
    # Ticked catch-all wins over a typed local part; the service takes "" as the catch-all.
    if (alias := submit(form, lambda: aliases.create_alias(
            current_actor(), form.domain_id.data, "" if form.catch_all.data else form.local_part.data or "",
            form.destinations.addresses))):
        flash(_("Alias %(source)s created.", source=alias.display_source), "success")
        return redirect(_list_url(alias))
    return render_template("domains/form.html", form=form, heading=_("New alias"),
                           back_url=url_for("aliases.index"))


@bp.route("/<int:alias_id>", methods=["GET", "POST"])
def edit(alias_id: int) -> ResponseReturnValue:
    actor = current_actor()
    alias = get_visible(actor, Alias, alias_id)
    form = AliasDestinationsForm(destinations="\n".join(d.address for d in alias.destinations))
    if submit(
            form, lambda: aliases.update_alias(actor, alias.id, form.destinations.addresses)):
        flash(_("Alias %(source)s saved.", source=alias.display_source), "success")
        return redirect(_list_url(alias))
    return render_template("aliases/edit.html", form=form, alias=alias)


@bp.route("/<int:alias_id>/delete", methods=["GET", "POST"])
def delete(alias_id: int) -> ResponseReturnValue:
    actor = current_actor()
    alias = get_visible(actor, Alias, alias_id)
    return confirm_delete(alias.display_source, lambda: aliases.delete_alias(actor, alias.id),
                          done_url=_list_url(alias), cancel_url=url_for("aliases.edit", alias_id=alias.id))
