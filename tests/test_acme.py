"""ACME issuance and renewal for real, against Debian's pebble on loopback.

pebble resolves the names through a loopback DNS server pointing at 127.0.0.1, fetches the
HTTP-01 answers from the panel served on its `httpPort`, and signs with a fresh random CA whose
root the test then trusts.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess

import pytest
import requests
from sqlalchemy import select

from panel.extensions import db
from panel.models import AuditEvent, Certificate, CertificateSource
from panel.services import acme
from panel.services.actor import Actor
from tests.live import serving, wait_for_port
from tests.maild.dns_server import DnsServer
from tests.maild.support import free_port
from tests.pki import Pki, key_pem, pem

HOSTS = ["mail.example.jp", "imap.example.jp"]
ADMIN = Actor.system("tests")

pytestmark = pytest.mark.skipif(shutil.which("pebble") is None, reason="Debian's pebble is not installed")


@pytest.fixture
def pebble(app, tmp_path):
    """pebble + DNS + the panel on pebble's httpPort; the app configured to use them."""
    pki = Pki.create()
    leaf, key = pki.leaf(["localhost"])
    (tmp_path / "pebble.pem").write_text(pem(leaf) + pem(pki.intermediate))
    (tmp_path / "pebble.key").write_text(key_pem(key))
    (tmp_path / "ca.pem").write_text(pem(pki.root))
    api, management, http = free_port(), free_port(), free_port()
    config = {"pebble": {
        "listenAddress": f"127.0.0.1:{api}", "managementListenAddress": f"127.0.0.1:{management}",
        "certificate": str(tmp_path / "pebble.pem"), "privateKey": str(tmp_path / "pebble.key"),
        "httpPort": http, "tlsPort": free_port(), "ocspResponderURL": "", "externalAccountBindingRequired": False,
    }}
    (tmp_path / "pebble.json").write_text(json.dumps(config))
    records = {host: {"A": "127.0.0.1"} for host in HOSTS}
    with DnsServer(records).running() as dns, serving(app, port=http):
        process = subprocess.Popen(
            ["pebble", "-config", str(tmp_path / "pebble.json"), "-dnsserver", dns.address],
            env={**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(api)
            wait_for_port(management)
            root = requests.get(f"https://localhost:{management}/roots/0", verify=str(tmp_path / "ca.pem"), timeout=10)
            (tmp_path / "pebble-root.pem").write_text(root.text)
            app.config.update(ACME_DIRECTORY_URL=f"https://localhost:{api}/dir", ACME_CA_BUNDLE=str(tmp_path / "ca.pem"),
                              TLS_TRUST_FILE=str(tmp_path / "pebble-root.pem"), ACME_TIMEOUT=60)
            yield dns
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_acme_issues_then_renews_before_expiry(ctx, pebble):
    certificate = acme.issue_certificate(ADMIN, HOSTS)
    assert certificate.source is CertificateSource.ACME and certificate.auto_renew
    assert certificate.names == HOSTS and "Pebble" in certificate.issuer
    first = certificate.fingerprint
    assert acme.due_for_renewal() == []
    later = certificate.not_after - dt.timedelta(days=29)
    results = acme.renew_due(ADMIN, now=later)
    assert [(c.id, error) for c, error in results] == [(certificate.id, None)]
    db.session.expire_all()
    renewed = db.session.get(Certificate, certificate.id)
    assert renewed.fingerprint != first and renewed.last_error is None
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == certificate.id)).all() == [
        "certificate.acme", "certificate.renew"]


def test_failed_renewal_keeps_the_old_certificate_and_shows_why(ctx, pebble):
    certificate = acme.issue_certificate(ADMIN, HOSTS)
    pebble.records = {}  # the names stop resolving: validation fails
    results = acme.renew_due(ADMIN, now=certificate.not_after)
    assert results[0][1] and "refused" in results[0][1]
    db.session.expire_all()
    kept = db.session.get(Certificate, certificate.id)
    assert kept.fingerprint == certificate.fingerprint and kept.last_error == results[0][1]


def test_certs_renew_command_for_cron(app, ctx, pebble):
    certificate = acme.issue_certificate(ADMIN, HOSTS[:1])
    app.config["ACME_RENEW_DAYS"] = 100 * 365  # every certificate is due
    result = app.test_cli_runner().invoke(args=["certs", "renew", "--json"])
    assert result.exit_code == 0, result.output
    assert [entry["id"] for entry in json.loads(result.output)] == [certificate.id]
    assert "key_encrypted" not in result.output
    pebble.records = {}
    result = app.test_cli_runner().invoke(args=["certs", "renew"])
    assert result.exit_code == 1 and "failed" in result.output


def test_challenge_route_answers_only_known_tokens(client, ctx):
    assert client.get("/.well-known/acme-challenge/unknown").status_code == 404
