"""POP3 RSET undoes the whole session, \\Seen included, as Dovecot's does; \\Seen from RETR lands
only with QUIT. Flags are checked the way a user sees them: over IMAP after the POP3 session.

Regression: `RETR 3`, `RSET`, `QUIT` left message 3 \\Seen in IMAP (RSET forgot only deletions).
"""
from __future__ import annotations

import poplib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.maild.dns_server import DnsServer
from tests.maild.pop3_support import Pop3Node, pop3_node
from tests.maild.test_pop3 import login_when_released

MESSAGES = [b"From: alice@remote.test\r\nSubject: number %d\r\n\r\nbody %d\r\n" % (n, n) for n in (1, 2, 3)]


@pytest.fixture
def node(tmp_path: Path, dns: DnsServer) -> Iterator[Pop3Node]:
    with pop3_node(tmp_path, dns) as live:
        live.deliver(*MESSAGES)
        yield live


def seen_over_imap(node: Pop3Node) -> list[int]:
    """The numbers of the INBOX messages IMAP reports \\Seen (the same numbers as POP3's here)."""
    imap = node.imap()
    imap.select("INBOX", readonly=True)
    status, data = imap.fetch("1:*", "(FLAGS)")
    imap.logout()
    assert status == "OK"
    return [int(item.split()[0]) for item in data if isinstance(item, bytes) and b"\\Seen" in item]


def test_retr_then_rset_then_quit_leaves_the_message_unseen(node: Pop3Node) -> None:
    client = node.login()
    client.retr(3)
    assert client.rset().startswith(b"+OK")
    assert client.quit().startswith(b"+OK")
    assert seen_over_imap(node) == []


def test_retr_then_quit_marks_the_message_seen(node: Pop3Node) -> None:
    client = node.login()
    client.retr(3)
    assert seen_over_imap(node) == []  # pending until QUIT
    client.quit()
    assert seen_over_imap(node) == [3]


def test_retr_after_rset_is_still_marked_seen_at_quit(node: Pop3Node) -> None:
    client = node.login()
    client.retr(1)
    client.rset()
    client.retr(2)
    client.quit()
    assert seen_over_imap(node) == [2]


def test_retr_then_dropped_connection_leaves_the_message_unseen(node: Pop3Node) -> None:
    client = node.login()
    client.retr(3)
    client.close()  # no QUIT: the session never reaches UPDATE
    login_when_released(node).quit()  # the server has ended the dropped session
    assert seen_over_imap(node) == []


def test_top_does_not_mark_the_message_seen(node: Pop3Node) -> None:
    client = node.login()
    client.top(3, 0)
    client.quit()
    assert seen_over_imap(node) == []


def test_dele_then_rset_still_restores_the_messages(node: Pop3Node) -> None:
    client = node.login()
    client.retr(2)
    client.dele(2)
    assert client.rset().startswith(b"+OK maildrop has 3 messages")
    client.quit()
    assert len(node.stored()) == 3 and seen_over_imap(node) == []


def test_quit_after_the_mailbox_was_disabled_changes_nothing(node: Pop3Node) -> None:
    client = node.login()
    client.dele(1)
    config = node.daemon.holder.current
    disabled = {address: replace(box, enabled=False) for address, box in config.mailboxes.items()}
    node.daemon.swap(replace(config, serial=config.serial + 1, mailboxes=disabled))
    with pytest.raises(poplib.error_proto, match="no longer available"):
        client.quit()
    assert len(node.stored()) == len(MESSAGES)  # the deletion was not applied
