"""Panel key to signed mail: a message submitted to a running maild is signed with the domain's
active key and verifies against the record the panel told the owner to publish."""
from __future__ import annotations

import smtplib
import time
from pathlib import Path

import dkim
import pytest
from flask import Flask

from panel.services import dkim_keys
from panel.services.dns_records import zone_snippet
from tests.dns_support import dkim_dnsfunc, publish, serving
from tests.factories import Factory
from tests.panel_maild import TIMEOUT, PanelMaild, insecure_context

MESSAGE = (b"From: taro@signed.example\r\nTo: taro@signed.example\r\nSubject: signed by maild\r\n"
           b"Message-ID: <e2e@signed.example>\r\n\r\nThis message should carry a DKIM signature.\r\n")


def stored_message(root: Path) -> bytes:
    """The first message delivered under `root` (maild's data directory), waiting for it."""
    deadline = time.monotonic() + TIMEOUT
    while not (found := sorted(path for path in root.rglob("new/*") if path.is_file())):
        assert time.monotonic() < deadline, "no message was delivered"
        time.sleep(0.05)
    return found[0].read_bytes()


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_mail_submitted_to_maild_is_signed_with_the_active_key(app: Flask, make: Factory, panel_maild: PanelMaild) -> None:
    mailbox = make.mailbox(make.domain(name="signed.example"), "taro")
    domain = mailbox.domain
    with serving(app, {}) as server:
        retired = dkim_keys.create_key(make.system, domain.id)
        publish(server, zone_snippet(domain, [retired]))
        dkim_keys.activate_key(make.system, retired.id)
        active = dkim_keys.create_key(make.system, domain.id)
        publish(server, zone_snippet(domain, [active]).split("\n", 1)[1])
        dkim_keys.activate_key(make.system, active.id)

        panel_maild.start(domain.node.name)
        with smtplib.SMTP_SSL("127.0.0.1", panel_maild.port, timeout=TIMEOUT, context=insecure_context()) as smtp:
            smtp.login("taro@signed.example", Factory.PASSWORD)
            smtp.sendmail("taro@signed.example", ["taro@signed.example"], MESSAGE)

        delivered = stored_message(panel_maild.data_dir)
        assert f"s={active.selector};".encode() in delivered
        assert f"s={retired.selector};".encode() not in delivered
        assert dkim.verify(delivered, dnsfunc=dkim_dnsfunc(server))
