"""Usage: fullest mailboxes, domains and customers, node capacity, history charts, billing, CSV.

Every page is scoped to what the actor may see (admins: everything; resellers: their customers;
customers: their own). The numbers are those maild last reported (`panel.services.usage_reports`).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from panel.extensions import db
from panel.models import Domain, Mailbox, Plan, Role
from panel.services import usage
from panel.services.access import get_visible, scope
from panel.services.usage import HistoryPoint, NEAR_LEVELS
from panel.web.domains.pages import staff_only
from panel.web.forms_common import submit
from panel.web.listing import paginated
from panel.web.principal import current_actor
from panel.web.usage.chart import Chart, history_chart
from panel.web.usage.forms import CleanupForm

bp = Blueprint("usage", __name__, url_prefix="/usage")
bp.before_request(staff_only)

HISTORY_DAYS = 90


def _near() -> int | None:
    """`?near=80` or `?near=95`; anything else shows every mailbox."""
    near = request.args.get("near", type=int)
    return near if near in NEAR_LEVELS else None


def _chart(points: Sequence[HistoryPoint], limit: int | None) -> Chart:
    return history_chart([p.day for p in points], [p.used for p in points], limit)


@bp.get("/")
def index() -> ResponseReturnValue:
    actor = current_actor()
    if actor.role is Role.CUSTOMER:
        return redirect(url_for("usage.customer", customer_id=actor.customer_id))
    context = {"near": usage.near_limit_counts(actor), "warned": usage.fullest_mailboxes(actor, warned=True),
               "plans": db.session.scalars(scope(actor, select(Plan).order_by(Plan.name))).all()}
    if actor.role is Role.ADMIN:
        return render_template("usage/overview.html", nodes=usage.node_capacity(actor), **context)
    return render_template("usage/overview.html", customers=usage.customer_rows(actor), **context)


@bp.get("/mailboxes")
def mailboxes() -> ResponseReturnValue:
    near = _near()
    page = paginated(usage.mailbox_listing(near).options(joinedload(Mailbox.domain)),
                     Mailbox.local_part, model=Mailbox)
    return render_template("usage/mailboxes.html", page=page, near=near, levels=NEAR_LEVELS)


@bp.get("/domains")
def domains() -> ResponseReturnValue:
    return render_template("usage/rows.html", rows=usage.domain_rows(current_actor()),
                           heading=_("Storage by domain"), csv_kind="domains")


@bp.get("/customers")
def customers() -> ResponseReturnValue:
    return render_template("usage/rows.html", rows=usage.customer_rows(current_actor()),
                           heading=_("Storage by customer"), csv_kind="customers", link="usage.customer")


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int) -> ResponseReturnValue:
    actor = current_actor()
    pool = usage.customer_pool(actor, customer_id)
    owner, points = usage.customer_history(actor, customer_id, HISTORY_DAYS)
    return render_template("usage/customer.html", pool=pool, customer=owner, points=points,
                           chart=_chart(points, pool.limit), domains=usage.domain_rows(actor, owner.id),
                           mailboxes=usage.fullest_mailboxes(actor, owner.id),
                           warned=usage.fullest_mailboxes(actor, owner.id, warned=True))


@bp.get("/mailboxes/<int:mailbox_id>")
def mailbox(mailbox_id: int) -> ResponseReturnValue:
    box, points = usage.mailbox_history(current_actor(), mailbox_id, HISTORY_DAYS)
    return render_template("usage/mailbox.html", mailbox=box, points=points, chart=_chart(points, box.quota_bytes))


@bp.route("/domains/<int:domain_id>/cleanup", methods=["GET", "POST"])
def cleanup(domain_id: int) -> ResponseReturnValue:
    actor = current_actor()
    domain = get_visible(actor, Domain, domain_id)
    form = CleanupForm(trash_days=domain.trash_days, archive_days=domain.archive_days)
    if submit(form, lambda: usage.set_domain_cleanup(actor, domain.id, form.trash_days.data, form.archive_days.data)):
        flash(_("Cleanup policy of %(domain)s saved.", domain=domain.display_name), "success")
        return redirect(url_for("usage.domains"))
    return render_template("domains/form.html", form=form, back_url=url_for("usage.domains"),
                           heading=_("Cleanup of %(domain)s", domain=domain.display_name))


@bp.route("/plans/<int:plan_id>/cleanup", methods=["GET", "POST"])
def plan_cleanup(plan_id: int) -> ResponseReturnValue:
    actor = current_actor()
    plan = get_visible(actor, Plan, plan_id)
    form = CleanupForm(trash_days=plan.trash_days, archive_days=plan.archive_days)
    form.trash_days.description = form.archive_days.description = _("Empty or 0: never.")
    if submit(form, lambda: usage.set_plan_cleanup(actor, plan.id, form.trash_days.data, form.archive_days.data)):
        flash(_("Cleanup defaults of plan %(plan)s saved.", plan=plan.name), "success")
        return redirect(url_for("usage.index"))
    return render_template("domains/form.html", form=form, back_url=url_for("usage.index"),
                           heading=_("Cleanup defaults of plan %(plan)s", plan=plan.name))


@bp.get("/billing")
def billing() -> ResponseReturnValue:
    charges = usage.charges(current_actor())
    return render_template("usage/billing.html", charges=charges, totals=usage.totals_by_currency(charges),
                           by_reseller=usage.totals_by_reseller(charges) if current_actor().role is Role.ADMIN else {})


# ---- CSV exports ---------------------------------------------------------------------------

def _csv(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download; cells that a spreadsheet would run as a formula are quoted with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["'" + cell if isinstance(cell, str) and cell[:1] in "=+-@\t\r" else cell for cell in row])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}.csv"})


@bp.get("/mailboxes.csv")
def mailboxes_csv() -> ResponseReturnValue:
    stmt = scope(current_actor(), usage.mailbox_listing(_near()).options(joinedload(Mailbox.domain)), Mailbox)
    return _csv("mailboxes", ["address", "used_bytes", "quota_bytes", "percent", "messages", "warning"],
                ([m.display_email, m.used_bytes, m.quota_bytes, f"{m.used_percent:.1f}", m.message_count, m.quota_warning]
                 for m in db.session.scalars(stmt)))


@bp.get("/<any(domains, customers):kind>.csv")
def rows_csv(kind: str) -> ResponseReturnValue:
    actor = current_actor()
    rows = usage.domain_rows(actor) if kind == "domains" else usage.customer_rows(actor)
    return _csv(kind, ["name", "used_bytes", "limit_bytes", "percent", "mailboxes"],
                ([row.label, row.used, row.limit or "", f"{row.percent:.1f}", row.mailboxes] for row in rows))


@bp.get("/billing.csv")
def billing_csv() -> ResponseReturnValue:
    return _csv("billing", ["customer", "reseller", "plan", "mailboxes", "price_per_mailbox", "setup_fee",
                            "total", "currency"],
                ([c.customer, c.reseller or "", c.plan, c.mailboxes, c.price_per_mailbox, c.setup_fee, c.total,
                  c.currency] for c in usage.charges(current_actor())))
