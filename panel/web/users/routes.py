"""Staff login screens: the logins the actor may see; create and delete.

Admins create any login; reseller staff their colleagues and their customers' staff; customer
staff their colleagues. The choices offered come from the same tenancy scope the service checks.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from panel.extensions import db
from panel.models import Customer, Reseller, Role, User
from panel.services import users
from panel.services.access import get_visible, require_role, scope
from panel.services.actor import Actor
from panel.web.forms_common import choices, confirm_delete, forbidden_as_invalid, form_page
from panel.web.listing import paginated
from panel.web.principal import current_actor
from panel.web.users.forms import UserForm

bp = Blueprint("users", __name__, url_prefix="/logins")

# The roles each role may create logins for, in the order offered.
CREATABLE = {
    Role.ADMIN: (Role.ADMIN, Role.RESELLER, Role.CUSTOMER),
    Role.RESELLER: (Role.RESELLER, Role.CUSTOMER),
    Role.CUSTOMER: (Role.CUSTOMER,),
}


@bp.before_request
@login_required
def staff_only() -> None:
    require_role(current_actor(), *CREATABLE)


def role_label(role: Role) -> str:
    return {Role.ADMIN: _("Provider (admin)"), Role.RESELLER: _("Reseller staff"),
            Role.CUSTOMER: _("Customer staff"), Role.MAILBOX: _("Mailbox")}[role]


def _owner_choices(form: UserForm, actor: Actor) -> None:
    """Offer only what the actor may choose; an owner select the actor has no use for is left out."""
    form.role.choices = [SelectChoice(role.value, role_label(role)) for role in CREATABLE[actor.role]]
    if actor.role is Role.ADMIN:
        form.reseller_id.choices = [SelectChoice("", "—"), *choices(db.session.execute(
            select(Reseller.id, Reseller.name).order_by(Reseller.name)))]
    else:
        del form.reseller_id
    if actor.role is Role.CUSTOMER:
        del form.customer_id
    else:
        form.customer_id.choices = [SelectChoice("", "—"), *choices(db.session.execute(
            scope(actor, select(Customer.id, Customer.name), Customer).order_by(Customer.name)))]


@bp.get("/")
def index() -> ResponseReturnValue:
    page = paginated(select(User).options(selectinload(User.reseller), selectinload(User.customer))
                     .order_by(User.email), User.email, User.name)
    return render_template("users/index.html", page=page, role_label=role_label)


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    actor = current_actor()
    # `?role=customer&customer_id=N` (the customer page's link) preselects; a POST's own values win.
    form = UserForm(data={"role": request.args.get("role"), "customer_id": request.args.get("customer_id")})
    _owner_choices(form, actor)

    def create_login() -> User:
        role = Role(form.role.data)
        return users.create_user(
            actor, form.email.data or "", form.password.data or "", role, name=form.name.data or "",
            reseller_id=form.reseller_id.data if "reseller_id" in form and role is Role.RESELLER else None,
            customer_id=form.customer_id.data if "customer_id" in form and role is Role.CUSTOMER else None)

    return form_page(form, lambda: forbidden_as_invalid(create_login, "role"), "users/form.html",
                     lambda new: (_("Login %(email)s created.", email=new.email), url_for(".index")))


@bp.route("/<int:user_id>/delete", methods=["GET", "POST"])
def delete(user_id: int) -> ResponseReturnValue:
    user = get_visible(current_actor(), User, user_id)
    return confirm_delete(_("login %(email)s", email=user.email),
                          lambda: forbidden_as_invalid(lambda: users.delete_user(current_actor(), user.id)),
                          cancel_url=url_for(".index"), done_url=url_for(".index"))
