"""Domains: list, add, detail with status, delete with what goes along."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from panel.extensions import db
from panel.models import Alias, Customer, Domain, DomainStatus, Mailbox, Role
from panel.services import domains
from panel.services.access import get_visible, scope
from panel.web.domains.pages import staff_only
from panel.web.domains.forms import STATUS_LABELS, DomainForm, StatusForm
from panel.web.listing import paginated
from panel.web.forms_common import confirm_delete, submit
from panel.web.principal import current_actor

bp = Blueprint("domains", __name__, url_prefix="/domains")
bp.before_request(staff_only)


def mailbox_counts(domain_ids: list[int]) -> dict[int, int]:
    """Mailboxes per domain for one page of domains, in one grouped query."""
    rows = db.session.execute(
        select(Mailbox.domain_id, func.count(Mailbox.id))
        .where(Mailbox.domain_id.in_(domain_ids))
        .group_by(Mailbox.domain_id)
    )
    return {domain_id: count for domain_id, count in rows}


@bp.get("/")
def index() -> ResponseReturnValue:
    stmt = (select(Domain).options(joinedload(Domain.node), joinedload(Domain.customer))
            .order_by(Domain.name))
    page = paginated(stmt, Domain.name)
    counts = mailbox_counts([domain.id for domain in page.items])
    return render_template("domains/index.html", page=page, counts=counts, status_labels=STATUS_LABELS)


def _customer_choices() -> list[SelectChoice]:
    rows = db.session.execute(scope(current_actor(), select(Customer.id, Customer.name).order_by(Customer.name)))
    return [SelectChoice(customer_id, name) for customer_id, name in rows]


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    actor = current_actor()
    form = DomainForm()
    if actor.role is Role.CUSTOMER:
        del form.customer_id
    else:
        form.customer_id.choices = _customer_choices()
    if actor.role is not Role.ADMIN:
        del form.status
    customer_field = getattr(form, "customer_id", None)
    status_field = getattr(form, "status", None)
    if (domain := submit(form, lambda: domains.create_domain(
            actor, form.name.data or "", customer_id=customer_field.data if customer_field else None,
            status=DomainStatus(status_field.data) if status_field else None))):
        flash(_("Domain %(name)s added.", name=domain.display_name), "success")
        return redirect(url_for("domains.detail", domain_id=domain.id))
    return render_template("domains/form.html", form=form, heading=_("Add domain"),
                           back_url=url_for("domains.index"))


@bp.get("/<int:domain_id>")
def detail(domain_id: int) -> ResponseReturnValue:
    """The domain with the first page of its mailboxes and aliases; the full lists link on."""
    domain = get_visible(current_actor(), Domain, domain_id)
    shown = current_app.config["PAGE_SIZE"]
    mailboxes = db.session.scalars(
        select(Mailbox).where(Mailbox.domain_id == domain.id).order_by(Mailbox.local_part).limit(shown))
    aliases = db.session.scalars(
        select(Alias).where(Alias.domain_id == domain.id).options(selectinload(Alias.destinations))
        .order_by(Alias.local_part).limit(shown))
    mailbox_total, alias_total = domains.domain_contents(domain.id)
    status_form = StatusForm(status=domain.status.value)
    return render_template("domains/detail.html", domain=domain, mailboxes=list(mailboxes),
                           aliases=list(aliases), mailbox_total=mailbox_total, alias_total=alias_total,
                           status_form=status_form, status_labels=STATUS_LABELS)


@bp.post("/<int:domain_id>/status")
def change_status(domain_id: int) -> ResponseReturnValue:
    actor = current_actor()
    domain = get_visible(actor, Domain, domain_id)
    form = StatusForm()
    if form.validate_on_submit():
        domain = domains.set_domain_status(actor, domain.id, DomainStatus(form.status.data))
        flash(_("%(name)s is now %(status)s.", name=domain.display_name,
                status=STATUS_LABELS[domain.status]), "success")
    else:
        flash(_("Choose a valid status."), "danger")
    return redirect(url_for("domains.detail", domain_id=domain_id))


@bp.route("/<int:domain_id>/delete", methods=["GET", "POST"])
def delete(domain_id: int) -> ResponseReturnValue:
    actor = current_actor()
    domain = get_visible(actor, Domain, domain_id)
    mailbox_total, alias_total = domains.domain_contents(domain.id)
    consequences = [_(
        "%(mailboxes)s and %(aliases)s will be deleted, with all mail stored in them.",
        mailboxes=ngettext("%(num)d mailbox", "%(num)d mailboxes", mailbox_total),
        aliases=ngettext("%(num)d alias", "%(num)d aliases", alias_total),
    )] if mailbox_total or alias_total else []
    return confirm_delete(domain.display_name, lambda: domains.delete_domain(actor, domain.id),
                          done_url=url_for("domains.index"), cancel_url=url_for("domains.detail", domain_id=domain.id),
                          consequences=consequences)
