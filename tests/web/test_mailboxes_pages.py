"""Mailbox screens: forms go through the service, refusals show next to their field, tenancy holds."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from panel.extensions import db
from panel.models import Mailbox, Role
from panel.services.passwords import verify_password

pytestmark = pytest.mark.usefixtures("english")

MIB = 1024**2
NEW_PASSWORD = "plum blossom lantern"


@pytest.fixture
def domain(make):
    return make.domain(make.customer(), name="shop.example")


@pytest.fixture
def staff(make, domain, login_as):
    """The test client logged in as a staff user of the domain's customer."""
    return login_as(make.user(Role.CUSTOMER, customer=domain.customer))


def form(domain, **changes: str) -> dict[str, object]:
    return {"domain_id": domain.id, "local_part": "alice", "quota": "512",
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD} | changes


def mailbox_count() -> int:
    return db.session.scalar(select(func.count(Mailbox.id))) or 0


def field_errors(html: str, field: str) -> str:
    """The text rendered between field `field` and the next input: where its errors appear."""
    match = re.search(rf'name="{field}"(.*?)(<input|<select|<textarea|$)', html, re.S)
    assert match, f"field {field} not on the page"
    return match.group(1)


def test_create_form_prefills_the_plans_default_quota(domain, staff):
    page = staff.get(f"/mailboxes/new?domain={domain.id}").text
    assert re.search(r'name="quota"[^>]*value="1024"', page)  # the plan's 1 GiB default, in MiB
    assert f'<option selected value="{domain.id}">shop.example</option>' in page


def test_customer_creates_mailbox_via_form(domain, staff):
    response = staff.post("/mailboxes/new", data=form(domain))
    assert response.status_code == 302
    assert response.location.endswith(f"/mailboxes/?domain={domain.id}")
    mailbox = db.session.scalars(select(Mailbox)).one()
    assert (mailbox.email, mailbox.quota_bytes) == ("alice@shop.example", 512 * MIB)
    assert verify_password(NEW_PASSWORD, mailbox.password_hash)
    assert "Mailbox alice@shop.example created." in staff.get(response.location).text


BAD_INPUT = [
    ({"local_part": "al ice"}, "local_part", "Enter a valid local part"),
    ({"confirm": "something else entirely"}, "confirm", "The passwords do not match."),
    ({"quota": "lots"}, "quota", "Enter a number of MiB"),
    ({"quota": ""}, "quota", "This field is required."),
    ({"password": "short", "confirm": "short"}, "password", "at least 10 characters"),
]


def test_bad_input_shows_the_form_with_the_field_error_and_writes_nothing(domain, staff):
    for changes, field, message in BAD_INPUT:
        response = staff.post("/mailboxes/new", data=form(domain, **changes))
        assert response.status_code == 200
        assert message in field_errors(response.text, field), changes
        assert f'value="{changes.get("local_part", "alice")}"' in response.text  # what was typed is kept
    assert mailbox_count() == 0


def test_eleventh_mailbox_on_ten_mailbox_plan_shows_the_limit(make, domain, staff):
    for n in range(10):
        make.mailbox(domain, f"user{n}", quota_bytes=MIB)
    response = staff.post("/mailboxes/new", data=form(domain, quota="1"))
    assert response.status_code == 200
    assert "Plan limit reached: mailboxes is limited to 10." in field_errors(response.text, "local_part")
    assert mailbox_count() == 10


def test_quota_above_plan_maximum_is_a_quota_field_error(domain, staff):
    response = staff.post("/mailboxes/new", data=form(domain, quota="3072"))
    assert "Plan limit reached: quota per mailbox is limited to 2.0 GiB." in field_errors(response.text, "quota")
    assert mailbox_count() == 0


def test_list_searches_by_address_and_shows_usage(make, domain, staff):
    alice = make.mailbox(domain, "alice", quota_bytes=100 * MIB)
    make.mailbox(domain, "bob", quota_bytes=100 * MIB)
    alice.used_bytes = 75 * MIB
    db.session.commit()
    page = staff.get("/mailboxes/?q=alice@shop").text
    assert "alice@shop.example" in page and "bob@shop.example" not in page
    assert 'value="75.0"' in page and "75.0 MiB / 100.0 MiB" in page


def test_list_takes_the_same_number_of_queries_for_many_rows(make, login_as):
    """No N+1: a page costs the same queries with 2 mailboxes on 1 domain as with 8 on 3."""
    customer = make.customer(make.plan(max_domains=3, max_mailboxes=None, storage_bytes=None))
    client = login_as(make.user(Role.CUSTOMER, customer=customer))
    domains = [make.domain(customer) for _ in range(3)]
    make.mailbox(domains[0], quota_bytes=MIB)
    make.mailbox(domains[0], quota_bytes=MIB)
    statements: list[object] = []

    def record(*args: object) -> None:
        statements.append(args[2])

    def queries_for_list_page() -> int:
        db.session.commit()  # expire everything, so lazy loads would show as queries
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert client.get("/mailboxes/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    queries_for_list_page()  # the first request of the session also loads the login
    few = queries_for_list_page()
    for domain in domains:
        for _ in range(2):
            make.mailbox(domain, quota_bytes=MIB)
    assert mailbox_count() == 8
    assert queries_for_list_page() == few


def test_edit_changes_quota_and_disables(make, domain, staff):
    mailbox = make.mailbox(domain, "alice", quota_bytes=100 * MIB)
    assert 'value="100"' in staff.get(f"/mailboxes/{mailbox.id}").text
    response = staff.post(f"/mailboxes/{mailbox.id}", data={"quota": "256"})
    assert response.status_code == 302
    db.session.refresh(mailbox)
    assert (mailbox.quota_bytes, mailbox.enabled) == (256 * MIB, False)


def test_edit_quota_above_storage_is_refused_and_nothing_changes(make, domain, staff):
    mailbox = make.mailbox(domain, "alice", quota_bytes=100 * MIB)
    response = staff.post(f"/mailboxes/{mailbox.id}", data={"quota": "4096", "enabled": "y"})
    assert "quota per mailbox is limited to 2.0 GiB" in field_errors(response.text, "quota")
    db.session.refresh(mailbox)
    assert mailbox.quota_bytes == 100 * MIB


def test_reset_password_sets_a_new_hash(make, domain, staff):
    mailbox = make.mailbox(domain, "alice")
    mismatch = staff.post(f"/mailboxes/{mailbox.id}/password",
                          data={"password": NEW_PASSWORD, "confirm": "not the same at all"})
    assert "The passwords do not match." in mismatch.text
    response = staff.post(f"/mailboxes/{mailbox.id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    db.session.refresh(mailbox)
    assert verify_password(NEW_PASSWORD, mailbox.password_hash)


def test_delete_asks_first_then_deletes(make, domain, staff):
    mailbox = make.mailbox(domain, "alice")
    mailbox.message_count, mailbox.used_bytes = 12, 3 * MIB
    db.session.commit()
    page = staff.get(f"/mailboxes/{mailbox.id}/delete").text
    assert "Delete alice@shop.example?" in page and "12 stored messages (3.0 MiB)." in page
    assert mailbox_count() == 1
    response = staff.post(f"/mailboxes/{mailbox.id}/delete")
    assert response.status_code == 302
    assert mailbox_count() == 0


def test_another_customers_mailbox_is_not_found(make, domain, staff):
    foreign = make.mailbox(make.domain(make.customer()), "secret")
    for path in (f"/mailboxes/{foreign.id}", f"/mailboxes/{foreign.id}/password",
                 f"/mailboxes/{foreign.id}/delete", f"/mailboxes/?domain={foreign.domain_id}",
                 f"/mailboxes/new?domain={foreign.domain_id}"):
        response = staff.get(path)
        assert response.status_code == 404, path
        assert "secret" not in response.text
    assert staff.post(f"/mailboxes/{foreign.id}/delete").status_code == 404
    assert staff.post("/mailboxes/new", data=form(foreign.domain)).status_code == 200  # not a choice
    assert mailbox_count() == 1
    assert "secret@" not in staff.get("/mailboxes/?q=secret").text


def test_mailbox_user_is_refused_the_staff_pages(make, domain, login_as):
    mailbox = make.mailbox(domain, "alice")
    client = login_as(mailbox)
    for path in ("/mailboxes/", f"/mailboxes/{mailbox.id}", "/domains/", f"/domains/{domain.id}", "/aliases/"):
        assert client.get(path).status_code == 403, path


def test_anonymous_visitor_is_sent_to_login(client, domain):
    response = client.get("/mailboxes/")
    assert response.status_code == 302 and "/login" in response.location
