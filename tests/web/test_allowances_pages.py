"""Reseller plan screens: admin only; limits the resellers already sold cannot be undercut."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import ResellerPlan, Role

pytestmark = pytest.mark.usefixtures("english")

GIB = 1024**3
FORM = {"name": "Silver", "max_customers": "5", "max_domains": "10", "max_mailboxes": "100",
        "max_aliases": "", "storage_bytes": "50"}


def allowance_count() -> int:
    return db.session.scalar(select(func.count(ResellerPlan.id))) or 0


def test_admin_creates_reseller_plan(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/reseller-plans/new", data=FORM)
    assert response.status_code == 302
    allowance = db.session.scalars(select(ResellerPlan)).one()
    assert (allowance.max_customers, allowance.max_aliases, allowance.storage_bytes) == (5, None, 50 * GIB)
    listing = client.get("/reseller-plans/").text
    assert "Silver" in listing and "50.0 GiB" in listing and "unlimited" in listing


def test_negative_limit_shows_field_error_and_writes_nothing(make, login_as):
    client = login_as(make.user(Role.ADMIN))
    response = client.post("/reseller-plans/new", data=FORM | {"max_customers": "-1", "max_domains": "ten"})
    assert response.status_code == 200
    assert "Number must be between 0 and" in response.text
    assert "Not a valid integer value." in response.text
    assert allowance_count() == 0


def test_shrinking_below_what_resellers_sold_shows_the_message(make, login_as):
    allowance = make.allowance(max_mailboxes=100, storage_bytes=None)
    reseller = make.reseller(allowance)
    make.customer(make.plan(make.staff_actor(reseller), max_mailboxes=40, storage_bytes=None,
                            max_quota_bytes=None), reseller)
    client = login_as(make.user(Role.ADMIN))
    response = client.post(f"/reseller-plans/{allowance.id}/edit",
                           data=FORM | {"name": allowance.name, "max_mailboxes": "30", "storage_bytes": ""})
    assert "Reseller allowance exceeded: mailboxes would be 40 of 30." in response.text
    db.session.expire_all()
    assert db.session.get(ResellerPlan, allowance.id).max_mailboxes == 100


def test_delete_asks_then_removes_and_refuses_when_in_use(make, login_as):
    unused = make.allowance()
    used = make.reseller().reseller_plan_id
    client = login_as(make.user(Role.ADMIN))
    assert f"Delete reseller plan {unused.name}?" in client.get(f"/reseller-plans/{unused.id}/delete").text
    client.post(f"/reseller-plans/{unused.id}/delete")
    refused = client.post(f"/reseller-plans/{used}/delete", follow_redirects=True)
    assert "The reseller plan is used by 1 resellers." in refused.text
    assert list(db.session.scalars(select(ResellerPlan.id))) == [used]


def test_resellers_and_customers_cannot_reach_reseller_plans(make, login_as, client):
    reseller = make.reseller()
    login_as(make.user(Role.RESELLER, reseller=reseller))
    assert client.get("/reseller-plans/").status_code == 403
    assert client.get(f"/reseller-plans/{reseller.reseller_plan_id}/edit").status_code == 403
