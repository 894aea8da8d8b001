"""Mail nodes and the placement of domains on them."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Customer, Domain, Mailbox, Node, Role, Tier
from panel.services import audit, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid, LimitExceeded
from panel.services.transaction import unit_of_work


NODE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


@dataclass
class NodeSpec:
    name: str
    hostname: str
    ip: str
    tier: Tier = Tier.SHARED
    max_mailboxes: int | None = None
    storage_bytes: int | None = None
    customer_id: int | None = None
    enabled: bool = True

    def validated(self) -> NodeSpec:
        self.name = validation.name(self.name, max_length=64)
        if not NODE_NAME.match(self.name):
            raise Invalid("name", _l("Use letters, digits, dots, - and _ only (the name is a directory name)."))
        self.hostname = validation.domain_name(self.hostname, "hostname")
        try:
            self.ip = str(ipaddress.ip_address(self.ip.strip()))
        except ValueError:
            raise Invalid("ip", _l("Enter a valid IPv4 or IPv6 address.")) from None
        self.tier = Tier(self.tier)
        validation.non_negative(self.max_mailboxes, "max_mailboxes")
        validation.non_negative(self.storage_bytes, "storage_bytes")
        if self.tier is Tier.DEDICATED and self.customer_id is None:
            raise Invalid("customer_id", _l("A dedicated node belongs to one customer; choose it."))
        if self.tier is Tier.SHARED and self.customer_id is not None:
            raise Invalid("customer_id", _l("A shared node cannot belong to one customer."))
        return self


def _check_owner(actor: Actor, spec: NodeSpec, node_id: int | None = None) -> None:
    if spec.customer_id is None:
        return
    customer = get_visible(actor, Customer, spec.customer_id)
    if customer.plan.tier is not Tier.DEDICATED:
        raise Invalid("customer_id", _l("This customer's plan is not on the dedicated tier."))
    taken = select(func.count(Node.id)).where(Node.customer_id == customer.id)
    if node_id is not None:
        taken = taken.where(Node.id != node_id)
    if db.session.scalar(taken):
        raise Invalid("customer_id", _l("This customer already has a dedicated node."))


def create_node(actor: Actor, spec: NodeSpec) -> Node:
    require_role(actor, Role.ADMIN)
    spec.validated()
    with unit_of_work():
        if db.session.scalar(select(func.count(Node.id)).where(Node.name == spec.name)):
            raise Invalid("name", _l("A node with this name already exists."))
        _check_owner(actor, spec)
        node = Node(**asdict(spec))
        db.session.add(node)
        audit.record(actor, "node.create", node, **asdict(spec))
    return node


def update_node(actor: Actor, node_id: int, spec: NodeSpec) -> Node:
    require_role(actor, Role.ADMIN)
    spec.validated()
    with unit_of_work():
        node = get_visible(actor, Node, node_id)
        if db.session.scalar(select(func.count(Node.id)).where(Node.name == spec.name, Node.id != node.id)):
            raise Invalid("name", _l("A node with this name already exists."))
        placed = db.session.scalar(select(func.count(Domain.id)).where(Domain.node_id == node.id))
        if placed and (spec.tier != node.tier or spec.customer_id != node.customer_id):
            raise Invalid("tier", _l("Tier and owner cannot change while domains are placed on the node."))
        _check_owner(actor, spec, node.id)
        for key, value in asdict(spec).items():
            setattr(node, key, value)
        audit.record(actor, "node.update", node, **asdict(spec))
    return node


def delete_node(actor: Actor, node_id: int) -> None:
    require_role(actor, Role.ADMIN)
    with unit_of_work():
        node = get_visible(actor, Node, node_id)
        placed = db.session.scalar(select(func.count(Domain.id)).where(Domain.node_id == node.id))
        if placed:
            raise Invalid(None, _l("%(n)d domains are placed on this node; move them first.", n=placed))
        audit.record(actor, "node.delete", node, name=node.name)
        db.session.delete(node)


def place_domain(customer: Customer) -> Node:
    """The node a new domain of `customer` goes to, by its plan's tier.

    Shared: the enabled shared node with the lowest share of its mailbox capacity in use
    (fewest mailboxes when unlimited). Dedicated: the customer's own node.
    """
    if customer.plan.tier is Tier.DEDICATED:
        node = db.session.scalar(select(Node).where(
            Node.customer_id == customer.id, Node.tier == Tier.DEDICATED, Node.enabled.is_(True)))
        if node is None:
            raise LimitExceeded("node", _l("No dedicated mail server is set up for this customer yet; ask your provider."), "name")
        return node
    mailboxes = (
        select(func.count(Mailbox.id)).join(Domain, Mailbox.domain_id == Domain.id)
        .where(Domain.node_id == Node.id).scalar_subquery()
    )
    candidates = db.session.execute(
        select(Node, mailboxes).where(Node.tier == Tier.SHARED, Node.enabled.is_(True))
    ).all()
    open_nodes = [(node, used) for node, used in candidates
                  if node.max_mailboxes is None or used < node.max_mailboxes]
    if not open_nodes:
        raise LimitExceeded("node", _l("No shared mail server has room for a new domain; ask your provider."), "name")
    return min(open_nodes, key=lambda pair: (pair[1] / pair[0].max_mailboxes if pair[0].max_mailboxes else 0,
                                             pair[1], pair[0].id))[0]
