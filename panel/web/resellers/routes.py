"""Reseller screens (admin only): list, create with a first login, show usage, edit, delete."""
from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from panel.extensions import db
from panel.models import Customer, Plan, Reseller, ResellerPlan, Role, User
from panel.services import limits, resellers, users
from panel.services.access import get_visible, require_role
from panel.web.forms_common import choices, confirm_delete, form_page, with_first_login
from panel.web.listing import paginated
from panel.web.principal import current_actor
from panel.web.resellers.forms import NewResellerForm, ResellerForm

bp = Blueprint("resellers", __name__, url_prefix="/resellers")


@bp.before_request
@login_required
def admins_only() -> None:
    require_role(current_actor(), Role.ADMIN)


def _with_allowances(form: ResellerForm) -> ResellerForm:
    form.allowance_id.choices = choices(db.session.execute(
        select(ResellerPlan.id, ResellerPlan.name).order_by(ResellerPlan.name)))
    return form


def _count(column: object, reseller_id: int) -> int:
    return db.session.scalar(select(func.count()).where(column == reseller_id)) or 0


@bp.get("/")
def index() -> ResponseReturnValue:
    page = paginated(select(Reseller).options(selectinload(Reseller.reseller_plan)).order_by(Reseller.name),
                     Reseller.name)
    customers = dict(db.session.execute(
        select(Customer.reseller_id, func.count(Customer.id))
        .where(Customer.reseller_id.in_([reseller.id for reseller in page.items]))
        .group_by(Customer.reseller_id)).all())
    return render_template("resellers/index.html", page=page, customers=customers)


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    form = _with_allowances(NewResellerForm())
    actor = current_actor()
    action = with_first_login(
        form,
        lambda: resellers.create_reseller(actor, form.name.data or "", form.allowance_id.data),
        lambda new: users.create_user(actor, form.email.data or "", form.password.data or "",
                                      Role.RESELLER, reseller_id=new.id),
        lambda new: resellers.delete_reseller(actor, new.id))
    return form_page(form, action, "resellers/form.html", lambda new: (
        _("Reseller %(name)s created; %(email)s can log in now.", name=new.name, email=form.email.data),
        url_for(".show", reseller_id=new.id)), reseller=None)


@bp.get("/<int:reseller_id>")
def show(reseller_id: int) -> ResponseReturnValue:
    reseller = get_visible(current_actor(), Reseller, reseller_id)
    customers = paginated(select(Customer).options(selectinload(Customer.plan))
                          .where(Customer.reseller_id == reseller.id).order_by(Customer.name), Customer.name)
    logins = db.session.scalars(select(User).where(User.reseller_id == reseller.id).order_by(User.email)).all()
    return render_template("resellers/show.html", reseller=reseller, customers=customers, logins=logins,
                           allocated=limits.reseller_allocated(reseller.id))


@bp.route("/<int:reseller_id>/edit", methods=["GET", "POST"])
def edit(reseller_id: int) -> ResponseReturnValue:
    reseller = get_visible(current_actor(), Reseller, reseller_id)
    form = _with_allowances(ResellerForm(obj=reseller, allowance_id=reseller.reseller_plan_id))
    return form_page(
        form, lambda: resellers.update_reseller(current_actor(), reseller.id, form.name.data or "",
                                                form.allowance_id.data),
        "resellers/form.html",
        lambda saved: (_("Reseller %(name)s saved.", name=saved.name), url_for(".show", reseller_id=reseller.id)),
        reseller=reseller)


@bp.route("/<int:reseller_id>/delete", methods=["GET", "POST"])
def delete(reseller_id: int) -> ResponseReturnValue:
    reseller = get_visible(current_actor(), Reseller, reseller_id)
    plans, logins = _count(Plan.reseller_id, reseller.id), _count(User.reseller_id, reseller.id)
    consequences = [ngettext("%(num)d plan it sells", "%(num)d plans it sells", plans),
                    ngettext("%(num)d staff login", "%(num)d staff logins", logins)]
    return confirm_delete(_("reseller %(name)s", name=reseller.name),
                          lambda: resellers.delete_reseller(current_actor(), reseller.id),
                          cancel_url=url_for(".show", reseller_id=reseller.id), done_url=url_for(".index"),
                          consequences=consequences)
