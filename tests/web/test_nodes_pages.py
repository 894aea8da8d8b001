"""Mail server screens: admin only; tier and owner rules come back from the service onto the form."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Node, Role, Tier

pytestmark = pytest.mark.usefixtures("english")

GIB = 1024**3
MIB = 1024**2
FORM = {"name": "tokyo-1", "hostname": "mx1.tegami.test", "ip": "192.0.2.10", "tier": "shared",
        "customer_id": "", "max_mailboxes": "1000", "storage_bytes": "500", "enabled": "y"}


def node_count() -> int:
    return db.session.scalar(select(func.count(Node.id))) or 0


def test_admin_adds_shared_node(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/nodes/new", data=FORM)
    assert response.status_code == 302
    node = db.session.scalars(select(Node)).one()
    assert (node.tier, node.max_mailboxes, node.storage_bytes, node.customer_id) == (Tier.SHARED, 1000, 500 * GIB, None)


def test_list_shows_load_per_node(make, login_as):
    domain = make.domain()
    make.mailbox(domain, quota_bytes=100 * MIB)
    make.mailbox(domain, quota_bytes=100 * MIB)
    page = login_as(make.user(Role.ADMIN)).get("/nodes/").text
    assert domain.node.name in page
    assert "2 / " in page and "200.0 MiB" in page


def test_bad_ip_shows_field_error_and_writes_nothing(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/nodes/new", data=FORM | {"ip": "999.1.1.1", "storage_bytes": "-5"})
    assert "Must be zero or more (leave empty for unlimited)." in response.text
    assert node_count() == 0
    response = client.post("/nodes/new", data=FORM | {"ip": "999.1.1.1"})
    assert "Enter a valid IPv4 or IPv6 address." in response.text
    assert node_count() == 0


def test_dedicated_node_needs_a_dedicated_customer(make, login_as):
    shared_customer = make.customer()
    dedicated_customer = make.customer(make.plan(tier=Tier.DEDICATED))
    client = login_as(make.user(Role.ADMIN))
    page = client.get("/nodes/new").text
    assert dedicated_customer.name in page and shared_customer.name not in page
    missing = client.post("/nodes/new", data=FORM | {"tier": "dedicated"})
    assert "A dedicated node belongs to one customer; choose it." in missing.text
    assert node_count() == 0
    client.post("/nodes/new", data=FORM | {"tier": "dedicated", "customer_id": dedicated_customer.id})
    assert db.session.scalars(select(Node)).one().customer_id == dedicated_customer.id


def test_tier_change_with_domains_placed_is_refused(make, login_as):
    node = make.domain().node
    client = login_as(make.user(Role.ADMIN))
    edit = client.get(f"/nodes/{node.id}/edit").text
    assert f'value="{node.hostname}"' in edit
    response = client.post(f"/nodes/{node.id}/edit", data=FORM | {"name": node.name, "tier": "dedicated",
                                                                   "customer_id": make.customer(make.plan(tier=Tier.DEDICATED)).id})
    assert "Tier and owner cannot change while domains are placed on the node." in response.text
    db.session.expire_all()
    assert db.session.get(Node, node.id).tier is Tier.SHARED


def test_delete_asks_then_removes_and_refuses_with_domains(make, login_as):
    empty = make.node()
    busy = make.domain().node
    client = login_as(make.user(Role.ADMIN))
    assert f"Delete mail server {empty.name}?" in client.get(f"/nodes/{empty.id}/delete").text
    client.post(f"/nodes/{empty.id}/delete")
    refused = client.post(f"/nodes/{busy.id}/delete", follow_redirects=True)
    assert "1 domains are placed on this node; move them first." in refused.text
    assert list(db.session.scalars(select(Node.id))) == [busy.id]


def test_resellers_cannot_reach_nodes(make, login_as):
    node = make.node()
    client = login_as(make.user(Role.RESELLER, reseller=make.reseller()))
    assert client.get("/nodes/").status_code == 403
    assert client.post(f"/nodes/{node.id}/delete").status_code == 403
    assert node_count() == 1
