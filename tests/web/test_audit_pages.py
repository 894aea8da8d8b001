"""The audit log page: newest first, filtered by action, each role reads only its tenants' events."""
from __future__ import annotations

import pytest

from panel.models import Role
from panel.services import customers
from panel.services.actor import Actor

pytestmark = pytest.mark.usefixtures("english")


def rows(html: str) -> str:
    return html.split("<tbody>", 1)[1]


def test_admin_sees_events_newest_first_with_who_and_object(make, login_as):
    customer = make.customer()
    node = make.node()
    page = login_as(make.user(Role.ADMIN)).get("/audit/").text
    body = rows(page)
    assert body.index("node.create") < body.index("customer.create") < body.index("plan.create")
    assert f"customer #{customer.id}" in body and f"node #{node.id}" in body
    assert "tests" in body  # the factory's actor label


def test_filter_by_action(make, login_as):
    make.customer()
    make.node()
    page = login_as(make.user(Role.ADMIN)).get("/audit/?action=node.create").text
    assert "node.create" in rows(page) and "customer.create" not in rows(page)
    assert '<option value="customer.create">' in page


def test_reseller_reads_only_its_own_tenants_events(make, login_as):
    reseller = make.reseller()
    own = make.customer(reseller=reseller)
    foreign = make.customer()
    body = rows(login_as(make.user(Role.RESELLER, reseller=reseller)).get("/audit/").text)
    assert f"customer #{own.id}" in body and f"customer #{foreign.id}" not in body
    assert "node.create" not in body


def test_support_access_shows_who_acted_as_whom(make, login_as):
    customer = make.customer()
    admin = make.user(Role.ADMIN)
    customers.act_as(Actor.for_user(admin, "203.0.113.9"), customer.id)
    body = rows(login_as(admin).get("/audit/?action=customer.act_as").text)
    assert admin.email in body and f"acting as {customer.name}" in body and "203.0.113.9" in body


def test_mailbox_user_cannot_read_the_audit_log(make, login_as):
    client = login_as(make.mailbox())
    assert client.get("/audit/").status_code == 403
