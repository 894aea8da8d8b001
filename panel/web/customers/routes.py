"""Customer screens (admins and resellers): list, create with a first login, show, edit, delete.

A reseller works only with its own customers and plans; an admin may also create a customer for
a reseller, on one of that reseller's plans.
"""
from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from panel.extensions import db
from panel.models import Customer, Domain, Mailbox, Plan, Reseller, Role, User
from panel.services import customers, limits, users
from panel.services.access import get_visible, require_role, scope
from panel.web.customers.forms import CustomerForm, NewCustomerForm
from panel.web.forms_common import (
    choices, confirm_delete, forbidden_as_invalid, form_page, with_first_login,
)
from panel.web.listing import paginated
from panel.web.principal import current_actor

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.before_request
@login_required
def sellers_only() -> None:
    require_role(current_actor(), Role.ADMIN, Role.RESELLER)


def _plan_choices(form: CustomerForm, customer: Customer | None = None) -> None:
    """Plans the actor may assign, grouped by seller; an existing customer stays with its seller."""
    stmt = scope(current_actor(), select(Plan.id, Plan.name, Reseller.name)
                 .outerjoin(Reseller, Plan.reseller_id == Reseller.id), Plan)
    if customer is not None:
        stmt = stmt.where(Plan.reseller_id == customer.reseller_id)  # `== None` renders IS NULL
    provider = _("Provider")
    form.plan_id.choices = [
        SelectChoice(plan_id, name, optgroup=seller or provider)
        for plan_id, name, seller in db.session.execute(stmt.order_by(Reseller.name.is_not(None), Reseller.name,
                                                                      Plan.name))
    ]


def mailboxes_per_customer(customer_ids: list[int]) -> dict[int, int]:
    """Mailbox counts for one page of customers, grouped in SQL (customers without any are absent)."""
    return dict(db.session.execute(
        select(Domain.customer_id, func.count(Mailbox.id)).join(Mailbox, Mailbox.domain_id == Domain.id)
        .where(Domain.customer_id.in_(customer_ids)).group_by(Domain.customer_id)).all())


@bp.get("/")
def index() -> ResponseReturnValue:
    page = paginated(select(Customer).options(selectinload(Customer.plan), selectinload(Customer.reseller))
                     .order_by(Customer.name, Customer.id), Customer.name)
    ids = [customer.id for customer in page.items]
    domains = dict(db.session.execute(select(Domain.customer_id, func.count(Domain.id))
                                      .where(Domain.customer_id.in_(ids)).group_by(Domain.customer_id)).all())
    return render_template("customers/index.html", page=page, domains=domains, mailboxes=mailboxes_per_customer(ids))


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    actor = current_actor()
    form = NewCustomerForm()
    _plan_choices(form)
    if actor.role is Role.ADMIN:
        form.reseller_id.choices = [SelectChoice("", _("Provider (no reseller)")), *choices(
            db.session.execute(select(Reseller.id, Reseller.name).order_by(Reseller.name)))]
    else:
        del form.reseller_id
    action = with_first_login(
        form,
        lambda: forbidden_as_invalid(lambda: customers.create_customer(
            actor, form.name.data or "", form.plan_id.data,
            form.reseller_id.data if actor.role is Role.ADMIN else None), "plan_id"),
        lambda new: users.create_user(actor, form.email.data or "", form.password.data or "",
                                      Role.CUSTOMER, customer_id=new.id),
        lambda new: customers.delete_customer(actor, new.id))
    return form_page(form, action, "customers/form.html", lambda new: (
        _("Customer %(name)s created; %(email)s can log in now.", name=new.name, email=form.email.data),
        url_for(".show", customer_id=new.id)), customer=None)


@bp.get("/<int:customer_id>")
def show(customer_id: int) -> ResponseReturnValue:
    customer = get_visible(current_actor(), Customer, customer_id)
    usage = limits.customer_usage(customer.id)
    logins = db.session.scalars(select(User).where(User.customer_id == customer.id).order_by(User.email)).all()
    return render_template("customers/show.html", customer=customer, usage=usage, logins=logins,
                           monthly=customer.plan.monthly_total(usage.max_mailboxes))


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
def edit(customer_id: int) -> ResponseReturnValue:
    customer = get_visible(current_actor(), Customer, customer_id)
    form = CustomerForm(obj=customer)
    _plan_choices(form, customer)
    return form_page(
        form, lambda: forbidden_as_invalid(lambda: customers.update_customer(
            current_actor(), customer.id, form.name.data or "", form.plan_id.data), "plan_id"),
        "customers/form.html",
        lambda saved: (_("Customer %(name)s saved.", name=saved.name), url_for(".show", customer_id=customer.id)),
        customer=customer)


@bp.route("/<int:customer_id>/delete", methods=["GET", "POST"])
def delete(customer_id: int) -> ResponseReturnValue:
    customer = get_visible(current_actor(), Customer, customer_id)
    usage = limits.customer_usage(customer.id)
    logins = db.session.scalar(select(func.count(User.id)).where(User.customer_id == customer.id)) or 0
    consequences = [ngettext("%(num)d domain", "%(num)d domains", usage.max_domains),
                    ngettext("%(num)d mailbox and all its mail", "%(num)d mailboxes and all their mail",
                             usage.max_mailboxes),
                    ngettext("%(num)d alias", "%(num)d aliases", usage.max_aliases),
                    ngettext("%(num)d staff login", "%(num)d staff logins", logins)]
    return confirm_delete(_("customer %(name)s", name=customer.name),
                          lambda: customers.delete_customer(current_actor(), customer.id),
                          cancel_url=url_for(".show", customer_id=customer.id), done_url=url_for(".index"),
                          consequences=consequences)
