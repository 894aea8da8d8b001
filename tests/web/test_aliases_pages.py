"""Alias screens: create (catch-all too), destinations as typed text, edit, delete, tenancy."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Alias, AliasDestination, Role

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def domain(make):
    domain = make.domain(make.customer(), name="shop.example")
    make.mailbox(domain, "ann")
    return domain


@pytest.fixture
def staff(make, domain, login_as):
    return login_as(make.user(Role.CUSTOMER, customer=domain.customer))


def alias_rows() -> list[tuple[str, list[str]]]:
    return [(alias.local_part, [d.address for d in alias.destinations])
            for alias in db.session.scalars(select(Alias).order_by(Alias.id))]


def test_create_alias_with_destinations_per_line_and_comma(domain, staff):
    response = staff.post("/aliases/new", data={
        "domain_id": domain.id, "local_part": "Info",
        "destinations": "ann@shop.example, boss@例え.jp\r\nann@shop.example\n\nsales@partner.example"})
    assert response.status_code == 302 and response.location.endswith(f"/aliases/?domain={domain.id}")
    assert alias_rows() == [("info", ["ann@shop.example", "boss@xn--r8jz45g.jp", "sales@partner.example"])]
    listing = staff.get(response.location).text
    assert "info@shop.example" in listing and "boss@例え.jp" in listing  # IDN shown in Unicode


def test_catch_all_is_created_when_ticked(domain, staff):
    response = staff.post("/aliases/new", data={"domain_id": domain.id, "catch_all": "y",
                                                "destinations": "ann@shop.example"})
    assert response.status_code == 302
    assert alias_rows() == [("", ["ann@shop.example"])]
    listing = staff.get("/aliases/").text
    assert "@shop.example" in listing and "Catch-all" in listing


BAD_INPUT = [
    ({"local_part": ""}, "Enter the address, or tick catch-all."),
    ({"local_part": "a b"}, "Enter a valid local part"),
    ({"local_part": "ann"}, "This address is already in use."),
    ({"destinations": "not-an-address"}, "Enter a full e-mail address"),
    ({"destinations": "nobody@shop.example"}, "nobody@shop.example does not exist yet"),
]


def test_bad_input_shows_the_error_and_writes_nothing(domain, staff):
    for data, message in BAD_INPUT:
        form = {"domain_id": domain.id, "local_part": "info", "destinations": "ann@shop.example"} | data
        response = staff.post("/aliases/new", data=form)
        assert response.status_code == 200 and message in response.text, data
    assert alias_rows() == []


def test_edit_replaces_destinations(make, domain, staff):
    alias = make.alias(domain, "info", ["ann@shop.example"])
    assert "ann@shop.example</textarea>" in staff.get(f"/aliases/{alias.id}").text
    response = staff.post(f"/aliases/{alias.id}", data={"destinations": "x@partner.example,y@partner.example"})
    assert response.status_code == 302
    db.session.expire_all()
    assert alias_rows() == [("info", ["x@partner.example", "y@partner.example"])]


def test_edit_to_itself_is_refused_and_keeps_destinations(make, domain, staff):
    alias = make.alias(domain, "info", ["ann@shop.example"])
    response = staff.post(f"/aliases/{alias.id}", data={"destinations": "info@shop.example"})
    assert "An alias cannot forward to itself." in response.text
    db.session.expire_all()
    assert alias_rows() == [("info", ["ann@shop.example"])]


def test_delete_asks_first_then_deletes(make, domain, staff):
    alias = make.alias(domain, "info", ["ann@shop.example"])
    assert "Delete info@shop.example?" in staff.get(f"/aliases/{alias.id}/delete").text
    assert staff.post(f"/aliases/{alias.id}/delete").status_code == 302
    assert alias_rows() == [] and db.session.scalar(select(func.count(AliasDestination.id))) == 0


def test_another_customers_alias_is_not_found(make, staff):
    foreign_domain = make.domain(make.customer(), name="secret.example")
    foreign = make.alias(foreign_domain, "hidden", ["x@partner.example"])
    for path in (f"/aliases/{foreign.id}", f"/aliases/{foreign.id}/delete",
                 f"/aliases/?domain={foreign_domain.id}", f"/aliases/new?domain={foreign_domain.id}"):
        assert staff.get(path).status_code == 404, path
    assert staff.post(f"/aliases/{foreign.id}", data={"destinations": "y@partner.example"}).status_code == 404
    assert staff.post(f"/aliases/{foreign.id}/delete").status_code == 404
    assert "secret.example" not in staff.get("/aliases/").text
    db.session.expire_all()
    assert alias_rows() == [("hidden", ["x@partner.example"])]
