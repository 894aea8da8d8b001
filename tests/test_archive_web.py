"""The archive in the panel: auditor permission, search, safe message view, streamed export, holds, audit."""
from __future__ import annotations

import io
import itertools
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from maild.archive.journal import Envelope, Journal
from maild.archive.reader import Hit
from maild.archive.retention import purge
from panel.bundle.build import node_content
from panel.extensions import db
from panel.models import AuditEvent, Node, Role
from panel.services import archive, archive_formats
from panel.services.actor import Actor
from panel.web.archive.message import render_message
from tests.conftest import login
from tests.factories import Factory

HTML = (b"From: Eve <eve@partner.test>\r\nTo: boss@corp.test\r\nSubject: Quarterly figures\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p onclick=\"steal()\">Revenue <b>up</b> <img src=\"https://tracker.test/pixel.gif\">"
        b"<a href=\"javascript:alert(1)\">x</a></p><script>alert('owned')</script>\r\n")
PLAIN = b"From: boss@corp.test\r\nTo: x@remote.test\r\nSubject: Reply <b>not bold</b>\r\n\r\nSee you at the audit.\r\n"


@pytest.fixture
def world(app: Flask, make: Factory, tmp_path: Path) -> dict[str, object]:
    app.config["MAILD_DATA_DIR"] = str(tmp_path / "maild")
    make.node(name="node-a")
    plan = make.plan(archiving=True, archive_retention_days=30)
    customer = make.customer(plan)
    domain = make.domain(customer, name="corp.test")
    auditor = make.user(Role.CUSTOMER, customer=customer, email="auditor@corp.test")
    auditor.auditor = True
    colleague = make.user(Role.CUSTOMER, customer=customer, email="staff@corp.test")
    other = make.domain(make.customer(plan), name="other.test")
    db.session.commit()
    journal = Journal(tmp_path / "maild" / "archive")
    journal.append("corp.test", Envelope("in", "eve@partner.test", ("boss@corp.test",), "192.0.2.1"), HTML)
    journal.append("corp.test", Envelope("out", "boss@corp.test", ("x@remote.test",), "192.0.2.2", "boss@corp.test"),
                   PLAIN)
    journal.append("other.test", Envelope("in", "a@b.test", ("c@other.test",), "192.0.2.3"), PLAIN)
    journal.close()
    return {"domain": domain, "other": other, "auditor": auditor, "colleague": colleague, "customer": customer,
            "root": tmp_path / "maild" / "archive"}


def actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_staff_without_auditor_permission_gets_403(client: FlaskClient, world: dict[str, object]) -> None:
    login(client, "staff@corp.test")
    assert client.get("/archive/").status_code == 403
    assert client.get(f"/archive/domains/{world['domain'].id}/messages/1").status_code == 403  # type: ignore[attr-defined]
    assert client.get("/archive/export/zip").status_code == 403
    assert actions("archive.search") == []


def test_auditor_searches_own_domains_only_and_the_search_is_audited(client: FlaskClient,
                                                                     world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    client.get("/language/en")
    page = client.get("/archive/?text=audit").get_data(as_text=True)
    assert "Reply &lt;b&gt;not bold&lt;/b&gt;" in page and "Quarterly figures" not in page
    page = client.get("/archive/").get_data(as_text=True)
    assert "Quarterly figures" in page and "c@other.test" not in page
    assert "2 messages match." in page
    assert client.get("/archive/?direction=in").get_data(as_text=True).count("eve@partner.test") == 1
    assert "Quarterly figures" in client.get("/archive/?page=999999999").get_data(as_text=True)
    assert "Quarterly" not in client.get("/archive/?sender=boss").get_data(as_text=True)
    foreign = client.get(f"/archive/?domain={world['other'].id}")  # type: ignore[attr-defined]
    assert foreign.status_code == 404
    [first, *_] = actions("archive.search")
    assert first.detail["text"] == "audit" and first.customer_id == world["customer"].id  # type: ignore[attr-defined]
    assert first.actor_label == "auditor@corp.test"


def test_bad_date_range_is_a_form_error(client: FlaskClient, world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    client.get("/language/en")
    response = client.get("/archive/?since=2026-05-02&until=2026-05-01")
    assert response.status_code == 200
    assert "The end date is before the start date." in response.get_data(as_text=True)


def test_message_view_is_sanitised_under_a_strict_csp_and_audited(client: FlaskClient,
                                                                  world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    response = client.get(f"/archive/domains/{world['domain'].id}/messages/1")  # type: ignore[attr-defined]
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Revenue <b>up</b>" in body
    for unsafe in ("<script>alert", "onclick", "tracker.test", "javascript:"):
        assert unsafe not in body
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    plain = client.get(f"/archive/domains/{world['domain'].id}/messages/2").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "See you at the audit." in plain and "<b>not bold</b>" not in plain
    [event, _] = actions("archive.view")
    assert event.object_id == world["domain"].id and event.detail["entry"] == 1  # type: ignore[attr-defined]
    assert client.get(f"/archive/domains/{world['domain'].id}/messages/99").status_code == 404  # type: ignore[attr-defined]


def test_zip_export_round_trips_the_received_bytes(client: FlaskClient, world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    response = client.get("/archive/export/zip")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["X-Archive-Messages"] == "2"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as exported:
        assert sorted(exported.read(name) for name in exported.namelist()) == sorted([HTML, PLAIN])
    raw = client.get(f"/archive/domains/{world['domain'].id}/messages/1.eml")  # type: ignore[attr-defined]
    assert raw.get_data() == HTML
    [event] = actions("archive.export")
    assert event.detail["format"] == "zip" and event.detail["results"] == 2


def test_mbox_export_of_a_filtered_result_set(client: FlaskClient, world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    data = client.get("/archive/export/mbox?direction=out").get_data()
    assert data.startswith(b"From boss@corp.test ")
    assert data.count(b"\nFrom ") + 1 == 1 and b"See you at the audit.\n" in data
    assert client.get("/archive/export/tar").status_code == 404


def test_admin_searches_everything_and_places_a_legal_hold(app: Flask, client: FlaskClient, make: Factory,
                                                           world: dict[str, object]) -> None:
    make.user(Role.ADMIN, email="root@provider.test")
    db.session.commit()
    login(client, "root@provider.test")
    client.get("/language/en")
    page = client.get("/archive/").get_data(as_text=True)
    assert "c@other.test" in page and "Quarterly figures" in page
    assert "<th>Total</th><th>3</th>" in page  # archive usage of both customers, apart from quotas
    domain = world["domain"]
    assert client.post(f"/archive/domains/{domain.id}/hold", data={"value": "on"}).status_code == 302  # type: ignore[attr-defined]
    db.session.expire_all()
    assert domain.legal_hold  # type: ignore[attr-defined]
    node = db.session.scalars(select(Node)).one()
    [bundled] = [d for d in node_content(db.session, node, app.config).domains if d.name == "corp.test"]
    assert bundled.legal_hold and bundled.archive_retention_days == 30
    assert actions("archive.legal_hold")[0].detail["legal_hold"] is True


def test_admin_holds_a_searchs_results_which_reach_the_bundle_and_survive_the_purge(
        app: Flask, client: FlaskClient, make: Factory, world: dict[str, object]) -> None:
    make.user(Role.ADMIN, email="root@provider.test")
    db.session.commit()
    login(client, "root@provider.test")
    assert client.post("/archive/holds?text=audit", data={"reason": ""}).status_code == 302
    assert actions("archive.hold_results") == []  # no reason, no hold
    client.post("/archive/holds?text=figures", data={"reason": "Case 2026-17"})
    [event] = actions("archive.hold_results")
    assert event.detail["entries"] == 1 and event.detail["reason"] == "Case 2026-17"
    assert "Case 2026-17" in client.get("/archive/").get_data(as_text=True)
    node = db.session.scalars(select(Node)).one()
    [bundled] = [d for d in node_content(db.session, node, app.config).domains if d.name == "corp.test"]
    assert bundled.archive_hold_from == 1
    later = datetime.now(UTC) + timedelta(days=400)
    assert purge(world["root"], "corp.test", 30, legal_hold=False, now=later,  # type: ignore[arg-type]
                 hold_from=bundled.archive_hold_from) is None
    hold = archive.holds(Actor.system())[0][0]
    assert client.post(f"/archive/holds/{hold.id}/release", data={"value": "off"}).status_code == 302
    [bundled] = [d for d in node_content(db.session, node, app.config).domains if d.name == "corp.test"]
    assert bundled.archive_hold_from is None and actions("archive.release_results")


def test_only_admins_hold_search_results(client: FlaskClient, world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    assert client.post("/archive/holds?text=figures", data={"reason": "mine"}).status_code == 403
    assert actions("archive.hold_results") == []


def test_customer_cannot_place_a_legal_hold(client: FlaskClient, world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    assert client.post(f"/archive/domains/{world['domain'].id}/hold", data={"value": "on"}).status_code == 403  # type: ignore[attr-defined]


def test_colleague_grants_auditor_permission_but_not_to_themselves(client: FlaskClient,
                                                                   world: dict[str, object]) -> None:
    login(client, "auditor@corp.test")
    colleague = world["colleague"]
    assert "staff@corp.test" in client.get("/archive/auditors").get_data(as_text=True)
    assert client.post(f"/archive/auditors/{colleague.id}", data={"value": "on"}).status_code == 302  # type: ignore[attr-defined]
    assert client.post(f"/archive/auditors/{world['auditor'].id}", data={"value": "off"}).status_code == 403  # type: ignore[attr-defined]
    client.post("/logout")
    login(client, "staff@corp.test")
    assert client.get("/archive/").status_code == 200
    assert actions("user.auditor")[0].detail["auditor"] is True


def test_purges_imported_into_the_audit_log_once(world: dict[str, object]) -> None:
    root = world["root"]
    assert purge(root, "corp.test", 1, legal_hold=False, now=datetime.now(UTC) + timedelta(days=2))  # type: ignore[arg-type]
    assert archive.import_purges(Actor.system()) == 1
    assert archive.import_purges(Actor.system()) == 0
    [event] = actions("archive.purge")
    assert event.detail["entries"] == 2 and event.customer_id == world["customer"].id  # type: ignore[attr-defined]


def test_import_purges_command(app: Flask, world: dict[str, object]) -> None:
    purge(world["root"], "other.test", 1, legal_hold=False, now=datetime.now(UTC) + timedelta(days=2))  # type: ignore[arg-type]
    result = app.test_cli_runner().invoke(args=["archive", "import-purges"], env={"LANG": "C"})
    assert result.exit_code == 0 and "1 purge(s) recorded" in result.output
    assert actions("archive.purge")[0].object_id == world["other"].id  # type: ignore[attr-defined]


def test_hostile_mime_renders_without_error() -> None:
    shown = render_message(b"Subject: \xff\r\nContent-Type: text/html; charset=x-bogus\r\n\r\n"
                           b"<svg onload=alert(1)><iframe src=//evil.test></iframe>hi")
    assert shown.html is not None and "onload" not in shown.html and "iframe" not in shown.html


def test_search_page_counts_up_to_a_limit(client: FlaskClient, world: dict[str, object],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "COUNT_LIMIT", 1)
    login(client, "auditor@corp.test")
    client.get("/language/en")
    page = client.get("/archive/").get_data(as_text=True)
    assert "More than 1 messages match." in page and "Page 1 of 1" not in page
    assert actions("archive.search")[0].detail["results"] == 2  # counted up to the limit + 1


@pytest.mark.parametrize("writer", [archive_formats.eml_zip, archive_formats.mbox])
def test_exports_write_each_message_before_reading_the_next(writer) -> None:  # type: ignore[no-untyped-def]
    hit = Hit("corp.test", 1, "2026-11-28T10:00:00+00:00", "in", "a@b.test", ("c@corp.test",), "192.0.2.1",
              None, "s", len(PLAIN), "0" * 64)
    read: list[int] = []

    def messages():  # type: ignore[no-untyped-def]
        for seq in range(1, 10_001):
            read.append(seq)
            yield replace(hit, seq=seq), PLAIN

    stream = writer(messages())
    first = next(stream)
    assert read == [1] and first  # the first message is out before the second is read
    assert sum(1 for _ in itertools.islice(stream, 99)) == 99 and len(read) == 100
