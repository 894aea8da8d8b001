"""Reseller plan screens (admin only): list, create, edit, delete."""
from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Reseller, ResellerPlan, Role
from panel.services import plans
from panel.services.access import get_visible, require_role
from panel.web.allowances.forms import AllowanceForm
from panel.web.forms_common import confirm_delete, form_page
from panel.web.listing import paginated
from panel.web.principal import current_actor

bp = Blueprint("allowances", __name__, url_prefix="/reseller-plans")


@bp.before_request
@login_required
def admins_only() -> None:
    require_role(current_actor(), Role.ADMIN)


@bp.get("/")
def index() -> ResponseReturnValue:
    page = paginated(select(ResellerPlan).order_by(ResellerPlan.name), ResellerPlan.name)
    ids = [allowance.id for allowance in page.items]
    resellers = dict(db.session.execute(
        select(Reseller.reseller_plan_id, func.count(Reseller.id))
        .where(Reseller.reseller_plan_id.in_(ids)).group_by(Reseller.reseller_plan_id)).all())
    return render_template("allowances/index.html", page=page, resellers=resellers)


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    form = AllowanceForm()
    return form_page(form, lambda: plans.create_allowance(current_actor(), form.spec()), "allowances/form.html",
                     lambda new: (_("Reseller plan %(name)s created.", name=new.name), url_for(".index")),
                     allowance=None)


@bp.route("/<int:allowance_id>/edit", methods=["GET", "POST"])
def edit(allowance_id: int) -> ResponseReturnValue:
    allowance = get_visible(current_actor(), ResellerPlan, allowance_id)
    form = AllowanceForm(obj=allowance)
    return form_page(form, lambda: plans.update_allowance(current_actor(), allowance.id, form.spec()),
                     "allowances/form.html",
                     lambda saved: (_("Reseller plan %(name)s saved.", name=saved.name), url_for(".index")),
                     allowance=allowance)


@bp.route("/<int:allowance_id>/delete", methods=["GET", "POST"])
def delete(allowance_id: int) -> ResponseReturnValue:
    allowance = get_visible(current_actor(), ResellerPlan, allowance_id)
    return confirm_delete(_("reseller plan %(name)s", name=allowance.name),
                          lambda: plans.delete_allowance(current_actor(), allowance.id),
                          cancel_url=url_for(".index"), done_url=url_for(".index"))
