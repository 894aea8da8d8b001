"""Plan screens: list, create, show (customers and monthly totals), edit, delete.

Admins see every plan and create provider plans; a reseller sees and sells only its own.
"""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Customer, Domain, Mailbox, Plan, Reseller, Role
from panel.services import plans
from panel.services.access import get_visible, require_role, scope
from panel.web.customers.routes import mailboxes_per_customer
from panel.web.forms_common import confirm_delete, form_page
from panel.web.listing import paginated
from panel.web.plans.forms import PlanForm
from panel.web.principal import current_actor

bp = Blueprint("plans", __name__, url_prefix="/plans")


@bp.before_request
@login_required
def sellers_only() -> None:
    require_role(current_actor(), Role.ADMIN, Role.RESELLER)


@bp.app_template_filter("money")
def money(amount: Decimal, currency: str) -> str:
    """An amount in its currency for the user's locale (yen without decimals)."""
    return format_currency(amount, currency)


def customer_counts(plan_ids: list[int]) -> dict[int, int]:
    """Customers per plan, counted in SQL for one page of plans."""
    return dict(db.session.execute(select(Customer.plan_id, func.count(Customer.id))
                                   .where(Customer.plan_id.in_(plan_ids)).group_by(Customer.plan_id)).all())


def reseller_names(reseller_ids: set[int | None]) -> dict[int, str]:
    ids = [reseller_id for reseller_id in reseller_ids if reseller_id is not None]
    return dict(db.session.execute(select(Reseller.id, Reseller.name).where(Reseller.id.in_(ids))).all())


@bp.get("/")
def index() -> ResponseReturnValue:
    page = paginated(select(Plan).order_by(Plan.reseller_id.is_not(None), Plan.name, Plan.id), Plan.name)
    return render_template("plans/index.html", page=page,
                           customers=customer_counts([plan.id for plan in page.items]),
                           sellers=reseller_names({plan.reseller_id for plan in page.items}))


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    form = PlanForm(obj=plans.PlanSpec(name=""))  # a new plan starts from sensible defaults
    return form_page(form, lambda: plans.create_plan(current_actor(), form.spec()), "plans/form.html",
                     lambda new: (_("Plan %(name)s created.", name=new.name), url_for(".show", plan_id=new.id)),
                     plan=None)


@bp.get("/<int:plan_id>")
def show(plan_id: int) -> ResponseReturnValue:
    actor = current_actor()
    plan = get_visible(actor, Plan, plan_id)
    page = paginated(select(Customer).where(Customer.plan_id == plan.id).order_by(Customer.name, Customer.id),
                     Customer.name)
    mailboxes = mailboxes_per_customer([customer.id for customer in page.items])
    all_mailboxes = db.session.scalar(scope(actor, (
        select(func.count(Mailbox.id)).join(Domain, Mailbox.domain_id == Domain.id)
        .join(Customer, Domain.customer_id == Customer.id).where(Customer.plan_id == plan.id)), Customer)) or 0
    seller = db.session.get(Reseller, plan.reseller_id) if plan.reseller_id is not None else None
    return render_template("plans/show.html", plan=plan, page=page, mailboxes=mailboxes, seller=seller,
                           total=plan.monthly_total(all_mailboxes))


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
def edit(plan_id: int) -> ResponseReturnValue:
    plan = get_visible(current_actor(), Plan, plan_id)
    form = PlanForm(obj=plan)
    return form_page(form, lambda: plans.update_plan(current_actor(), plan.id, form.spec()), "plans/form.html",
                     lambda saved: (_("Plan %(name)s saved.", name=saved.name), url_for(".show", plan_id=plan.id)),
                     plan=plan)


@bp.route("/<int:plan_id>/delete", methods=["GET", "POST"])
def delete(plan_id: int) -> ResponseReturnValue:
    plan = get_visible(current_actor(), Plan, plan_id)
    return confirm_delete(_("plan %(name)s", name=plan.name),
                          lambda: plans.delete_plan(current_actor(), plan.id),
                          cancel_url=url_for(".show", plan_id=plan.id), done_url=url_for(".index"))
