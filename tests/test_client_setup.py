"""Client set-up: the page, Thunderbird autoconfig, Outlook autodiscover and the Apple profile agree."""
from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from maild.config import Listener
from panel.extensions import db
from panel.models import DomainStatus, Mailbox, Role
from panel.services import certificates, mailboxes
from panel.services.clientsetup import ServerEntry, domain_settings
from panel.web.autoconfig.documents import AUTODISCOVER_REQUEST, AUTODISCOVER_RESPONSE, OUTLOOK_RESPONSE
from tests.conftest import login
from tests.factories import Factory

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)

LISTENERS = (Listener("mx", "0.0.0.0", 25), Listener("submission", "0.0.0.0", 587),
             Listener("submissions", "0.0.0.0", 465), Listener("imap", "0.0.0.0", 143),
             Listener("imaps", "0.0.0.0", 993), Listener("pop3", "0.0.0.0", 110),
             Listener("pop3s", "0.0.0.0", 995))
SECURITY = {"SSL/TLS": "ssl", "STARTTLS": "starttls", "SSL": "ssl", "TLS": "starttls"}
O = f"{{{OUTLOOK_RESPONSE}}}"


@pytest.fixture
def taro(app: Flask, make: Factory) -> Mailbox:
    app.config["MAILD_LISTENERS"] = LISTENERS
    mailbox = make.mailbox(make.domain(name="example.jp"), "taro")
    db.session.commit()
    return mailbox


class ServerRows(HTMLParser):
    """(protocol, hostname, port, security) from the set-up page's server tables."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_row = self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and ("class", "server-entry") in attrs:
            self._in_row = True
            self.rows.append([])
        elif tag == "td" and self._in_row:
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False
        elif tag == "tr":
            self._in_row = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data.strip()

    def entries(self) -> list[tuple[str, str, int, str]]:
        return [(p.lower(), host, int(port), SECURITY[security]) for p, host, port, security, _ in self.rows]


def page_entries(client: FlaskClient, mailbox: Mailbox) -> list[tuple[str, str, int, str]]:
    response = client.get(f"/mailboxes/{mailbox.id}/setup")
    assert response.status_code == 200
    parser = ServerRows()
    parser.feed(response.get_data(as_text=True))
    return parser.entries()


def autoconfig_entries(client: FlaskClient, url: str) -> list[tuple[str, str, int, str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type.startswith("application/xml")
    root = ET.fromstring(response.data)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider is not None and provider.findtext("domain") == "example.jp"
    servers = [*provider.findall("incomingServer"), *provider.findall("outgoingServer")]
    for server in servers:
        assert server.findtext("username") == "%EMAILADDRESS%"
        assert server.findtext("authentication") == "password-cleartext"
    return [(s.get("type") or "", s.findtext("hostname") or "", int(s.findtext("port") or 0),
             SECURITY[s.findtext("socketType") or ""]) for s in servers]


def test_autoconfig_servers_equal_the_set_up_page(english: FlaskClient, taro: Mailbox) -> None:
    login(english, "taro@example.jp")
    shown = page_entries(english, taro)
    node = taro.domain.node.hostname
    assert shown == [("imap", node, 993, "ssl"), ("imap", node, 143, "starttls"), ("pop3", node, 995, "ssl"),
                     ("pop3", node, 110, "starttls"), ("smtp", node, 465, "ssl"), ("smtp", node, 587, "starttls")]
    assert autoconfig_entries(english, "/mail/config-v1.1.xml?emailaddress=taro%40example.jp") == shown
    assert autoconfig_entries(english, "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=x@EXAMPLE.jp") == shown
    assert autoconfig_entries(english.application.test_client(),
                              "http://autoconfig.example.jp/mail/config-v1.1.xml") == shown
    page = english.get(f"/mailboxes/{taro.id}/setup").get_data(as_text=True)
    assert "<code>taro@example.jp</code>" in page and "60 seconds" in page


def test_a_certificate_for_mail_dot_domain_becomes_the_server_name(english: FlaskClient, make: Factory,
                                                                   taro: Mailbox) -> None:
    certificates.create_self_signed(make.system, ["mail.example.jp"], taro.domain.customer_id)
    login(english, "taro@example.jp")
    assert {host for _, host, _, _ in page_entries(english, taro)} == {"mail.example.jp"}
    assert {host for _, host, _, _ in autoconfig_entries(english, "/mail/config-v1.1.xml?emailaddress=a@example.jp")} \
        == {"mail.example.jp"}


def test_staff_see_the_set_up_page_with_apop_when_it_is_on(english: FlaskClient, make: Factory, taro: Mailbox) -> None:
    plan = taro.domain.customer.plan
    plan.allow_apop = True
    db.session.commit()
    mailboxes.set_apop(make.system, taro.id, True, Factory.PASSWORD)
    login(english, make.user(Role.CUSTOMER, customer=taro.domain.customer).email)
    response = english.get(f"/mailboxes/{taro.id}/setup")
    assert response.status_code == 200
    rows = ServerRows()
    rows.feed(response.get_data(as_text=True))
    assert [row[4] for row in rows.rows if row[0] == "POP3"] == ["APOP", "APOP"]
    assert "Client set-up" in english.get(f"/mailboxes/{taro.id}").get_data(as_text=True)


def autodiscover_request(address: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{AUTODISCOVER_REQUEST}"><Request>'
            f"<EMailAddress>{address}</EMailAddress><AcceptableResponseSchema>{OUTLOOK_RESPONSE}"
            "</AcceptableResponseSchema></Request></Autodiscover>").encode()


def test_autodiscover_answers_the_preferred_server_of_each_protocol(app: Flask, english: FlaskClient,
                                                                    taro: Mailbox) -> None:
    app.config["WTF_CSRF_ENABLED"] = True  # a client's POST carries no token: the endpoint is exempt
    response = english.post("/autodiscover/autodiscover.xml", data=autodiscover_request("taro@example.jp"),
                            content_type="text/xml")
    assert response.status_code == 200
    app.config["WTF_CSRF_ENABLED"] = False  # for the panel login below
    root = ET.fromstring(response.data)
    assert root.tag == f"{{{AUTODISCOVER_RESPONSE}}}Autodiscover"
    account = root.find(f"{O}Response/{O}Account")
    assert account is not None and account.findtext(f"{O}Action") == "settings"
    protocols = [(p.findtext(f"{O}Type"), p.findtext(f"{O}Server"), int(p.findtext(f"{O}Port") or 0),
                  SECURITY[p.findtext(f"{O}Encryption") or ""], p.findtext(f"{O}LoginName"))
                 for p in account.findall(f"{O}Protocol")]
    login(english, "taro@example.jp")
    shown = page_entries(english, taro)
    first = {}
    for entry in shown:
        first.setdefault(entry[0], entry)
    assert protocols == [(p.upper(), *first[p][1:], "taro@example.jp") for p in ("imap", "pop3", "smtp")]
    assert english.post("/Autodiscover/Autodiscover.xml", data=autodiscover_request("taro@example.jp")).status_code == 200


def test_mobileconfig_is_an_apple_mail_profile_with_the_page_servers(english: FlaskClient, taro: Mailbox) -> None:
    login(english, "taro@example.jp")
    response = english.get(f"/mailboxes/{taro.id}/setup.mobileconfig")
    assert response.status_code == 200
    assert response.content_type == "application/x-apple-aspen-config"
    assert 'filename=taro.mobileconfig' in response.headers["Content-Disposition"]
    profile = plistlib.loads(response.data)
    assert profile["PayloadType"] == "Configuration"
    [account] = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["EmailAddress"] == "taro@example.jp" and account["EmailAccountType"] == "EmailTypeIMAP"
    shown = page_entries(english, taro)
    imap = next(e for e in shown if e[0] == "imap")
    smtp = next(e for e in shown if e[0] == "smtp")
    assert (account["IncomingMailServerHostName"], account["IncomingMailServerPortNumber"]) == imap[1:3]
    assert (account["OutgoingMailServerHostName"], account["OutgoingMailServerPortNumber"]) == smtp[1:3]
    assert account["IncomingMailServerUsername"] == account["OutgoingMailServerUsername"] == "taro@example.jp"
    assert profile["PayloadUUID"] == plistlib.loads(english.get(f"/mailboxes/{taro.id}/setup.mobileconfig").data)["PayloadUUID"]


def test_unknown_pending_and_malformed_domains_get_404_or_400(client: FlaskClient, make: Factory, taro: Mailbox) -> None:
    taro.domain.status = DomainStatus.PENDING
    make.domain(name="active.example")
    db.session.commit()
    for query in ("x@pending.example", "x@example.jp", "x@nowhere.test", "", "x@" + "a" * 300, "x@%ff.jp", "x@\u00ff\u0000.jp",
                  "x@..", "x@-bad-.example"):
        assert client.get("/mail/config-v1.1.xml", query_string={"emailaddress": query}).status_code == 404, query
    assert client.get("/mail/config-v1.1.xml?emailaddress=x@active.example").status_code == 200
    assert client.post("/autodiscover/autodiscover.xml", data=autodiscover_request("x@nowhere.test")).status_code == 404
    for body in (b"", b"<not xml", b"<a/>", b"x" * 20000,
                 b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + autodiscover_request("x@active.example")):
        assert client.post("/autodiscover/autodiscover.xml", data=body).status_code == 400


def test_a_mailbox_user_never_reaches_another_mailbox_set_up(client: FlaskClient, make: Factory, taro: Mailbox) -> None:
    other = make.mailbox(taro.domain, "jiro")
    db.session.commit()
    login(client, "taro@example.jp")
    assert client.get(f"/mailboxes/{other.id}/setup").status_code == 404
    assert client.get(f"/mailboxes/{other.id}/setup.mobileconfig").status_code == 404
    assert client.get("/account/setup").headers["Location"].endswith(f"/mailboxes/{taro.id}/setup")


def test_entries_are_the_node_listener_ports(app: Flask, taro: Mailbox) -> None:
    app.config["MAILD_LISTENERS"] = (Listener("imaps", "127.0.0.1", 1993), Listener("submission", "127.0.0.1", 2587))
    settings = domain_settings(taro.domain, app.config)
    host = taro.domain.node.hostname
    assert settings.incoming == (ServerEntry("imap", host, 1993, "ssl", "password-cleartext"),)
    assert settings.outgoing == (ServerEntry("smtp", host, 2587, "starttls", "password-cleartext"),)
