"""Panel -> bundle -> maild -> journal -> panel: a plan with archiving, mail through a live MX, found in the panel."""
from __future__ import annotations

import smtplib
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from maild.bundle import load_bundle
from maild.config import Listener
from panel.extensions import db
from panel.models import Role
from tests.conftest import login
from tests.factories import Factory
from tests.maild.dns_server import DnsServer
from tests.maild.support import free_port, running_daemon

MESSAGE = (b"From: Eve <eve@sender.test>\r\nTo: boss@corp.test\r\nSubject: Merger terms\r\n\r\n"
           b"Strictly confidential: the exchange ratio is final.\r\n")


def test_mail_through_mx_is_searchable_and_exported_byte_for_byte(app: Flask, make: Factory, client: FlaskClient,
                                                                   tmp_path: Path) -> None:
    with DnsServer({"sender.test": {"TXT": '"v=spf1 ip4:127.0.0.1 -all"'}}).running() as dns:
        app.config.update(MAILD_LISTENERS=(Listener("mx", "127.0.0.1", free_port()),),
                          MAILD_SERVER={"resolver": (dns.address,)}, MAILD_DATA_DIR=str(tmp_path / "data"))
        make.node(name="node-a")
        customer = make.customer(make.plan(archiving=True, archive_retention_days=365))
        domain = make.domain(customer, name="corp.test")
        make.mailbox(domain, "boss")
        auditor = make.user(Role.CUSTOMER, customer=customer, email="auditor@corp.test")
        auditor.auditor = True
        db.session.commit()
        config = load_bundle(Path(app.config["BUNDLE_DIR"]) / "node-a")
        assert config.domains["corp.test"].archive and config.domains["corp.test"].archive_retention_days == 365
        with running_daemon(config, tmp_path) as maild:
            with smtplib.SMTP("127.0.0.1", maild.port("mx"), timeout=20) as smtp:
                assert smtp.sendmail("eve@sender.test", ["boss@corp.test"], MESSAGE) == {}
    login(client, "auditor@corp.test")
    client.get("/language/en")
    page = client.get("/archive/?text=exchange+ratio").get_data(as_text=True)
    assert "Merger terms" in page and "1 message matches." in page
    assert client.get(f"/archive/domains/{domain.id}/messages/1.eml").get_data() == MESSAGE
