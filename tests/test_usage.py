"""Usage in the panel: reports from maild collected, pushed over the API, shown, billed, exported."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from maild.bundle import ConfigHolder, load_bundle
from maild.config import Config
from maild.store import Store
from maild.usage import Reporter
from maild.usage_commands import push_main
from panel.extensions import db
from panel.models import DomainTraffic, Mailbox, Role, UsageSample
from panel.services import usage
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.usage_reports import collect, issue_node_token
from tests.factories import Factory
from tests.live import serving

MIB = 1024 * 1024


def node_config(app: Flask, node_name: str) -> Config:
    """The bundle the panel wrote for the node, as maild loads it."""
    return load_bundle(Path(app.config["BUNDLE_DIR"]) / node_name)


def deliver(config: Config, store: Store, data_dir: Path, sizes: dict[str, list[int]]) -> None:
    """Store messages of `sizes` per address with maild's store and write a usage report."""
    async def run() -> None:
        for address, message_sizes in sizes.items():
            box = config.mailbox(address)
            assert box is not None
            for size in message_sizes:
                await store.deliver(box, b"Subject: x\r\n\r\n" + b"y" * (size - 15))
        store.ledger.delivered([config.mailbox(a) for a in sizes], None)  # type: ignore[misc]
        await Reporter(ConfigHolder(config), store, data_dir).report()
    asyncio.run(run())


def test_collected_reports_update_counters_history_pages_and_csv_like_the_store(
        app: Flask, make: Factory, client: FlaskClient, tmp_path: Path) -> None:
    node = make.node(name="n1")
    plan = make.plan(storage_bytes=10 * MIB, max_quota_bytes=MIB, default_quota_bytes=MIB)
    customer = make.customer(plan)
    domain = make.domain(customer, "usage.example")
    bob, ann = make.mailbox(domain, "bob", MIB), make.mailbox(domain, "ann", MIB)
    staff = make.user(Role.CUSTOMER, customer=customer)
    db.session.commit()
    config = node_config(app, node.name)
    assert config.mailbox(bob.email).pool_bytes == 10 * MIB  # type: ignore[union-attr]
    store, data_dir = Store(tmp_path / "mail"), tmp_path / "maild"

    deliver(config, store, data_dir, {bob.email: [900_000]})  # 86%: bob gets a warning
    results = collect(data_dir)
    assert [r.mailboxes for _, r in results] == [1]  # type: ignore[union-attr]
    assert not list((data_dir / "usage" / "outbox").glob("*.json"))  # collected reports are removed
    db.session.expire_all()
    stored = store.usage(config.mailbox(bob.email))  # type: ignore[arg-type]
    assert (bob.used_bytes, bob.message_count, bob.quota_warning) == (stored.bytes, stored.messages, 80)
    sample = db.session.scalar(select(UsageSample).where(UsageSample.mailbox_id == bob.id))
    assert sample is not None and sample.used_bytes == stored.bytes
    traffic = db.session.scalar(select(DomainTraffic).where(DomainTraffic.domain_id == domain.id))
    assert traffic is not None and traffic.messages_in == 1

    async def expunge_all() -> None:
        inbox = await store.folder(config.mailbox(bob.email), "INBOX")  # type: ignore[arg-type]
        await inbox.expunge(list(inbox.uids))
        await Reporter(ConfigHolder(config), store, data_dir).report()
    asyncio.run(expunge_all())
    collect(data_dir)
    db.session.expire_all()
    assert (bob.used_bytes, bob.message_count, bob.quota_warning) == (0, 0, 0)  # after expunge; re-armed

    deliver(config, store, data_dir, {ann.email: [500_000, 300_000]})
    collect(data_dir)
    ann_usage = store.usage(config.mailbox(ann.email))  # type: ignore[arg-type]
    client.post("/login", data={"login": staff.email, "password": Factory.PASSWORD})
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    listing = client.get("/usage/mailboxes").text
    assert "ann@usage.example" in listing and f"{100 * ann_usage.bytes / MIB:.1f}%" in listing
    rows = list(csv.reader(io.StringIO(client.get("/usage/mailboxes.csv").text)))
    assert rows[1][:5] == ["ann@usage.example", str(ann_usage.bytes), str(MIB),
                           f"{100 * ann_usage.bytes / MIB:.1f}", "2"]  # fullest first
    page = client.get(f"/usage/customers/{customer.id}").text
    assert "<svg" in page and "<polyline" in page and "style=" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert client.get(f"/usage/mailboxes/{bob.id}").status_code == 200


def test_node_pushes_reports_with_its_token_only_for_its_own_mailboxes(
        app: Flask, make: Factory, client: FlaskClient) -> None:
    here, elsewhere = make.node(name="here"), make.node(name="elsewhere")
    mine = make.mailbox(make.domain(make.customer(), "mine.example"), "u", MIB)
    mine.domain.node_id = here.id
    theirs = make.mailbox(make.domain(make.customer(), "theirs.example"), "u", MIB)
    theirs.domain.node_id = elsewhere.id
    db.session.commit()
    token = issue_node_token(Actor.system(), here.id)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    report = {"version": 1, "node": "here", "generated": "2026-11-28T10:00:00+00:00", "full": False,
              "mailboxes": [[mine.id, 1234, 2], [theirs.id, 999, 9]], "traffic": [], "cleanup": [], "warnings": []}
    url = "/api/nodes/here/usage"
    assert client.post(url, json=report).status_code == 401
    assert client.post(url, json=report, headers={"Authorization": "Bearer wrong"}).status_code == 401
    bad = client.post(url, data=b'{"version": 1, "node": "here", "mailboxes": [[1, -5, 0]]}',
                      headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and "usage report" in bad.json["error"]
    for hostile in ([[mine.id, 2**70, 1]], [[mine.id, 1, 2**40]], "[" * 100_000, [[mine.id, True, 1]]):
        body = json.dumps(dict(report, mailboxes=hostile)) if isinstance(hostile, list) else hostile
        answer = client.post(url, data=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 400, hostile
    accepted = client.post(url, json=report, headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200 and accepted.json == {"mailboxes": 1, "samples": 1, "ignored": 1}
    db.session.expire_all()
    assert (mine.used_bytes, theirs.used_bytes) == (1234, 0)


def test_bad_report_file_is_set_aside_and_changes_nothing(app: Flask, make: Factory, tmp_path: Path) -> None:
    node = make.node(name="n1")
    box = make.mailbox(make.domain(make.customer(), "a.example"), "u", MIB)
    db.session.commit()
    outbox = tmp_path / "usage" / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "00000000000000000001-1-0.json").write_text(json.dumps(
        {"version": 1, "node": node.name, "generated": "2026-11-28T10:00:00+00:00",
         "mailboxes": [[box.id, "lots", 1]]}))
    [(path, result)] = collect(tmp_path)
    assert isinstance(result, Invalid) and result.field == "report"
    assert path.with_suffix(".rejected").exists()
    db.session.expire_all()
    assert box.used_bytes == 0


def test_monthly_charges_per_customer_and_summed_for_a_reseller(
        app: Flask, make: Factory, client: FlaskClient) -> None:
    reseller = make.reseller()
    seller = make.staff_actor(reseller)
    plan = make.plan(seller, price_per_mailbox=Decimal("300"), setup_fee=Decimal("1000"))
    first, second = make.customer(plan, reseller), make.customer(plan, reseller)
    for customer, count in ((first, 3), (second, 1)):
        domain = make.domain(customer)
        for _ in range(count):
            make.mailbox(domain)
    make.mailbox()  # another reseller's customer: not billed to this reseller
    db.session.commit()
    charges = usage.charges(seller)
    assert [(c.customer_id, c.mailboxes, c.total) for c in charges] == [
        (first.id, 3, Decimal("1900")), (second.id, 1, Decimal("1300"))]  # setup fee: created this month
    assert usage.totals_by_currency(charges) == {"JPY": Decimal("3200")}
    everyone = usage.charges(make.staff_actor())
    assert usage.totals_by_reseller(everyone)[(reseller.name, "JPY")] == Decimal("3200")
    assert len(everyone) == 3
    staff = make.user(Role.RESELLER, reseller=reseller)
    db.session.commit()
    client.post("/login", data={"login": staff.email, "password": Factory.PASSWORD})
    rows = list(csv.DictReader(io.StringIO(client.get("/usage/billing.csv").text)))
    assert [(row["customer"], row["mailboxes"], row["total"]) for row in rows] == [
        (first.name, "3", "1900.00"), (second.name, "1", "1300.00")]
    admin = make.user(Role.ADMIN)
    db.session.commit()
    client.post("/logout")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post("/login", data={"login": admin.email, "password": Factory.PASSWORD})
    page = client.get("/usage/billing").text
    assert "Totals by reseller" in page and reseller.name in page and "Direct customers" in page


def test_cleanup_policy_from_the_plan_unless_the_domain_sets_its_own(
        app: Flask, make: Factory, client: FlaskClient) -> None:
    node = make.node(name="n1")
    plan = make.plan(max_domains=2)
    admin_user = make.user(Role.ADMIN)
    db.session.commit()
    client.post("/login", data={"login": admin_user.email, "password": Factory.PASSWORD})
    assert client.post(f"/usage/plans/{plan.id}/cleanup", data={"trash_days": "30"}).status_code == 302
    assert plan.name in client.get("/usage/").text
    client.post("/logout")
    customer = make.customer(plan)
    make.domain(customer, "inherits.example")
    own = make.domain(customer, "own.example")
    staff = make.user(Role.CUSTOMER, customer=customer)
    db.session.commit()
    client.post("/login", data={"login": staff.email, "password": Factory.PASSWORD})
    response = client.post(f"/usage/domains/{own.id}/cleanup", data={"trash_days": "7", "archive_days": "365"})
    assert response.status_code == 302
    assert client.post(f"/usage/domains/{own.id}/cleanup", data={"trash_days": "-1"}).status_code == 200
    domains = node_config(app, node.name).domains
    assert (domains["inherits.example"].trash_days, domains["inherits.example"].archive_days) == (30, 0)
    assert (domains["own.example"].trash_days, domains["own.example"].archive_days) == (7, 365)


def test_usage_pages_of_another_tenant_are_not_found(app: Flask, make: Factory, client: FlaskClient) -> None:
    other = make.mailbox()
    staff = make.user(Role.CUSTOMER, customer=make.customer())
    db.session.commit()
    client.post("/login", data={"login": staff.email, "password": Factory.PASSWORD})
    for url in (f"/usage/customers/{other.domain.customer_id}", f"/usage/mailboxes/{other.id}",
                f"/usage/domains/{other.domain_id}/cleanup"):
        assert client.get(url).status_code == 404, url
    assert other.email not in client.get("/usage/mailboxes.csv").text
    assert db.session.scalar(select(Mailbox.quota_warning).where(Mailbox.id == other.id)) == 0


def test_overview_shows_near_limit_counts_node_capacity_and_customer_pools(
        app: Flask, make: Factory, client: FlaskClient) -> None:
    reseller = make.reseller()
    plan = make.plan(make.staff_actor(reseller), storage_bytes=4 * MIB, max_quota_bytes=MIB, default_quota_bytes=MIB)
    customer = make.customer(plan, reseller)
    domain = make.domain(customer, "pool.example")
    full, half = make.mailbox(domain, "full", MIB), make.mailbox(domain, "half", MIB)
    full.used_bytes, half.used_bytes = 1000 * 1024, MIB // 2  # 97.7% and 50%
    full.quota_warning = 95  # as maild reported after warning the user
    admin, seller = make.user(Role.ADMIN), make.user(Role.RESELLER, reseller=reseller)
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post("/login", data={"login": seller.email, "password": Factory.PASSWORD})
    page = client.get("/usage/").text
    assert "1 mailbox at 80% or more" in page and "1 mailbox at 95% or more" in page
    assert customer.name in page and "1.5 MiB / 4.0 MiB" in page  # the pool: real usage against the plan
    assert "full@pool.example</a>:\n      warned at 95%" in page
    customer_page = client.get(f"/usage/customers/{customer.id}").text
    assert "Quota warnings sent" in customer_page and "half@pool.example</a>:" not in customer_page
    client.post("/logout")
    client.post("/login", data={"login": admin.email, "password": Factory.PASSWORD})
    page = client.get("/usage/").text
    assert "Mail server capacity" in page and "1.5 MiB" in page  # the node's storage used
    assert client.get("/usage/mailboxes?near=95").text.count("full@pool.example") == 1
    assert "half@pool.example" not in client.get("/usage/mailboxes?near=80").text


def test_maild_usage_push_delivers_reports_to_the_panel_over_http(
        app: Flask, make: Factory, tmp_path: Path) -> None:
    node = make.node(name="remote")
    box = make.mailbox(make.domain(make.customer(), "push.example"), "u", MIB)
    db.session.commit()
    token_file = tmp_path / "token"
    token_file.write_text("not the token\n")
    config, store, data_dir = node_config(app, node.name), Store(tmp_path / "mail"), tmp_path / "maild"
    deliver(config, store, data_dir, {box.email: [4000]})
    with serving(app) as base:
        push = ["--data", str(data_dir), "--url", f"{base}/api/nodes/remote/usage", "--token-file", str(token_file)]
        assert push_main(push) == 1  # refused: the report stays for the next run
        assert len(list((data_dir / "usage" / "outbox").glob("*.json"))) == 1
        token_file.write_text(issue_node_token(Actor.system(), node.id) + "\n")
        assert push_main(push) == 0
    assert not list((data_dir / "usage" / "outbox").glob("*.json"))
    db.session.expire_all()
    assert box.used_bytes == store.usage(config.mailbox(box.email)).bytes > 0  # type: ignore[arg-type]
