"""Mail server screens (admin only): list with load, create, edit, delete."""
from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select
from wtforms import SelectChoice

from panel.extensions import db
from panel.models import Customer, Domain, Mailbox, Node, Plan, Role, Tier
from panel.services import nodes
from panel.services.access import get_visible, require_role
from panel.web.forms_common import choices, confirm_delete, form_page
from panel.web.listing import paginated
from panel.web.nodes.forms import NodeForm
from panel.web.principal import current_actor

bp = Blueprint("nodes", __name__, url_prefix="/nodes")


@bp.before_request
@login_required
def admins_only() -> None:
    require_role(current_actor(), Role.ADMIN)


def _with_owners(form: NodeForm) -> NodeForm:
    """Owner choices: customers whose plan is on the dedicated tier."""
    dedicated = (select(Customer.id, Customer.name).join(Plan, Customer.plan_id == Plan.id)
                 .where(Plan.tier == Tier.DEDICATED).order_by(Customer.name))
    form.customer_id.choices = [SelectChoice("", _("None (shared pool)")),
                                *choices(db.session.execute(dedicated))]
    return form


@bp.get("/")
def index() -> ResponseReturnValue:
    page = paginated(select(Node).order_by(Node.name), Node.name, Node.hostname, Node.ip)
    ids = [node.id for node in page.items]
    load = {node_id: (domains, mailboxes, int(quota)) for node_id, domains, mailboxes, quota in db.session.execute(
        select(Domain.node_id, func.count(func.distinct(Domain.id)), func.count(Mailbox.id),
               func.coalesce(func.sum(Mailbox.quota_bytes), 0))
        .outerjoin(Mailbox, Mailbox.domain_id == Domain.id)
        .where(Domain.node_id.in_(ids)).group_by(Domain.node_id))}
    owners = dict(db.session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_([node.customer_id for node in page.items if node.customer_id is not None]))).all())
    return render_template("nodes/index.html", page=page, load=load, owners=owners)


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    form = _with_owners(NodeForm())
    return form_page(form, lambda: nodes.create_node(current_actor(), form.spec()), "nodes/form.html",
                     lambda new: (_("Mail server %(name)s added.", name=new.name), url_for(".index")), node=None)


@bp.route("/<int:node_id>/edit", methods=["GET", "POST"])
def edit(node_id: int) -> ResponseReturnValue:
    node = get_visible(current_actor(), Node, node_id)
    form = _with_owners(NodeForm(obj=node))
    return form_page(form, lambda: nodes.update_node(current_actor(), node.id, form.spec()), "nodes/form.html",
                     lambda saved: (_("Mail server %(name)s saved.", name=saved.name), url_for(".index")), node=node)


@bp.route("/<int:node_id>/delete", methods=["GET", "POST"])
def delete(node_id: int) -> ResponseReturnValue:
    node = get_visible(current_actor(), Node, node_id)
    return confirm_delete(_("mail server %(name)s", name=node.name),
                          lambda: nodes.delete_node(current_actor(), node.id),
                          cancel_url=url_for(".index"), done_url=url_for(".index"))
