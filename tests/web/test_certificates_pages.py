"""Certificate screens: list by expiry, each way of adding one, errors on the form, CSR flow."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Certificate, Role
from panel.services import certificates
from panel.services.actor import Actor
from tests.pki import Pki, key_pem, pem


@pytest.fixture
def customer_client(make, login_as):
    domain = make.domain(name="example.jp")
    staff = make.user(Role.CUSTOMER, customer=domain.customer)
    return login_as(staff)


def count() -> int:
    return db.session.scalar(select(func.count(Certificate.id)))


def test_self_signed_from_the_page(customer_client, ctx):
    response = customer_client.post("/certificates/self-signed", data={"self_signed-hostnames": "mail.example.jp"})
    assert response.status_code == 302
    page = customer_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "mail.example.jp" in page and "CN=mail.example.jp" in page
    assert "PRIVATE KEY" not in page


def test_upload_errors_show_on_the_form_and_store_nothing(customer_client, ctx):
    pki = Pki.create()
    leaf, key = pki.leaf(["other.example.jp"])
    response = customer_client.post("/certificates/upload", data={
        "upload-hostnames": "mail.example.jp", "upload-cert_pem": pem(leaf) + pem(pki.intermediate) + pem(pki.root),
        "upload-key_pem": key_pem(key)})
    assert response.status_code == 200
    assert "does not cover mail.example.jp" in response.get_data(as_text=True)
    assert count() == 0


def test_hostname_outside_own_domains_is_refused(customer_client, ctx):
    response = customer_client.post("/certificates/csr", data={"csr-hostnames": "mail.not-mine.example"})
    assert "is not in one of your domains" in response.get_data(as_text=True)
    assert count() == 0


def test_csr_page_shows_the_request_and_accepts_the_signed_certificate(app, customer_client, ctx, tmp_path):
    response = customer_client.post("/certificates/csr", data={"csr-hostnames": "mail.example.jp"})
    detail = response.headers["Location"]
    assert "BEGIN CERTIFICATE REQUEST" in customer_client.get(detail).get_data(as_text=True)
    pki = Pki.create()
    (tmp_path / "roots.pem").write_text(pem(pki.root))
    app.config["TLS_TRUST_FILE"] = str(tmp_path / "roots.pem")
    pending = db.session.scalars(select(Certificate)).one()
    key = load_pem_private_key(certificates.private_key_pem(pending).encode(), password=None)
    leaf, _ = pki.leaf(["mail.example.jp"], key=key)
    response = customer_client.post(detail, data={"cert_pem": pem(leaf) + pem(pki.intermediate)})
    assert response.status_code == 302
    page = customer_client.get(detail).get_data(as_text=True)
    assert "CN=Test Intermediate" in page and "BEGIN CERTIFICATE REQUEST" not in page


def test_list_is_sorted_by_expiry_and_marks_soon_expiring(make, login_as, ctx):
    certificates.create_self_signed(Actor.system(), ["later.tegami.test"])
    soon = certificates.create_self_signed(Actor.system(), ["soon.tegami.test"])
    soon.not_after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)
    db.session.commit()
    page = login_as(make.user(Role.ADMIN)).get("/certificates/").get_data(as_text=True)
    assert page.index("soon.tegami.test") < page.index("later.tegami.test")
    row = page[page.rindex("<tr", 0, page.index("soon.tegami.test")):page.index("soon.tegami.test")]
    assert "table-danger" in row


def test_dashboard_warns_owner_of_expiring_certificate(customer_client, ctx):
    customer_client.post("/certificates/self-signed", data={"self_signed-hostnames": "mail.example.jp"})
    assert "expiring soon" not in customer_client.get("/").get_data(as_text=True)
    certificate = db.session.scalars(select(Certificate)).one()
    certificate.not_after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)
    db.session.commit()
    page = customer_client.get("/").get_data(as_text=True)
    assert "Certificates expiring soon" in page and "mail.example.jp" in page
