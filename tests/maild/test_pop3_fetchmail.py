"""Debian's fetchmail against a live maild: POP3S with UIDL in keep mode, and APOP."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.maild.dns_server import DnsServer
from tests.maild.pop3_support import APOP_SECRET, PASSWORD, TIMEOUT, USER, Pop3Node, pop3_node

pytestmark = pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail is installed by make test")


def message(subject: str) -> bytes:
    return f"From: alice@remote.test\r\nTo: {USER}\r\nSubject: {subject}\r\n\r\n.dotted body of {subject}\r\n".encode()


@pytest.fixture
def node(tmp_path: Path, dns: DnsServer) -> Iterator[Pop3Node]:
    with pop3_node(tmp_path, dns) as live:
        yield live


def fetchmail(home: Path, poll: str) -> subprocess.CompletedProcess[str]:
    """One fetchmail run with `poll` as its whole configuration; HOME keeps its state per test."""
    home.mkdir(exist_ok=True)
    rcfile = home / "fetchmailrc"
    rcfile.write_text(f"set no syslog\nset no bouncemail\n{poll}\n")
    rcfile.chmod(0o600)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    return subprocess.run(["fetchmail", "--nodetach", "--fetchmailrc", str(rcfile)], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT * 3, check=False)


def delivered_subjects(mbox: Path) -> list[str]:
    return [line.removeprefix("Subject: ").rstrip("\r")
            for line in mbox.read_text().splitlines() if line.startswith("Subject: ")]


def test_fetchmail_over_pop3s_with_uidl_fetches_only_new_mail(node: Pop3Node, tmp_path: Path) -> None:
    mbox = tmp_path / "fetched.mbox"
    poll = (f'poll 127.0.0.1 service {node.port("pop3s")} protocol pop3 uidl auth password\n'
            f'  user "{USER}" there with password "{PASSWORD}" is "{os.environ.get("USER", "root")}" here\n'
            f'  ssl no sslcertck keep mda "cat >> {mbox}"')
    node.deliver(message("one"), message("two"))

    first = fetchmail(tmp_path / "home", poll)
    assert first.returncode == 0, first.stderr
    assert delivered_subjects(mbox) == ["one", "two"]
    assert ".dotted body of one" in mbox.read_text()  # byte-stuffing undone by the client

    node.deliver(message("three"))
    second = fetchmail(tmp_path / "home", poll)
    assert second.returncode == 0, second.stderr
    assert delivered_subjects(mbox) == ["one", "two", "three"]

    third = fetchmail(tmp_path / "home", poll)
    assert third.returncode == 1, third.stderr  # 1: no new mail
    assert delivered_subjects(mbox) == ["one", "two", "three"]
    assert len(node.stored()) == 3  # keep: nothing deleted on the server


def test_fetchmail_apop_login_on_the_plain_port(node: Pop3Node, tmp_path: Path) -> None:
    mbox = tmp_path / "fetched.mbox"
    node.deliver(message("apop"))
    poll = (f'poll 127.0.0.1 service {node.port("pop3")} protocol apop\n'
            f'  user "{USER}" there with password "{APOP_SECRET}" is "{os.environ.get("USER", "root")}" here\n'
            f'  sslproto "" keep mda "cat >> {mbox}"')
    run = fetchmail(tmp_path / "home", poll)
    assert run.returncode == 0, run.stderr
    assert delivered_subjects(mbox) == ["apop"]
