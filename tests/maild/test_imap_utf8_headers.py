"""Raw 8-bit header bytes (RFC 6532 UTF-8 from Japanese senders, stray Shift_JIS) in ENVELOPE,
BODYSTRUCTURE and SEARCH, as a client receives them over TLS.

Regression for ENVELOPE/BODYSTRUCTURE serving U+FFFD in place of raw UTF-8 Subject, From display
names and attachment file names, including envelopes cached by that code in an existing index.
"""
from __future__ import annotations

import json
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from maild.store.index import JOURNAL, SNAPSHOT, IndexFile
from tests.maild.dns_server import DnsServer
from tests.maild.imap_server import PASSWORD, TIMEOUT, USER, ImapNode, imap_node, insecure_context
from tests.maild.support import mailbox, node_config, running_daemon

UTF8_MESSAGE = (
    "From: 山田 太郎 <yamada@example.jp>\r\nTo: 佐藤 <sato@example.jp>\r\nSubject: 日本語の件名 テスト\r\n"
    "Date: Mon, 2 Feb 2026 10:00:00 +0900\r\nMessage-ID: <u8@example.jp>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "お見積りです。\r\n--b1\r\nContent-Type: application/pdf; name=\"見積書.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"見積書.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "JVBERi0xLjQK\r\n--b1--\r\n").encode()
ENCODED_MESSAGE = (
    b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\nTo: sato@example.jp\r\n"
    b"Subject: =?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: application/pdf; name=\"=?UTF-8?B?6KaL56mN5pu4LnBkZg==?=\"\r\n"
    b"Content-Disposition: attachment; filename=\"=?UTF-8?B?6KaL56mN5pu4LnBkZg==?=\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n")
# 表 is 95 5C in Shift_JIS: its second byte is a backslash.
SJIS_MESSAGE = ("From: 山田 <yamada@example.jp>\r\nTo: sato@example.jp\r\nSubject: 表示テスト\r\n"
                "Message-ID: <sjis@example.jp>\r\n\r\nbody\r\n").encode("shift_jis")
MIXED_MESSAGE = "From: a@example.jp\r\nSubject: =?UTF-8?B?5pel5pys6Kqe?= 件名\r\n\r\nbody\r\n".encode()


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n%s" % (len(data), data)


def utf8(text: str) -> bytes:
    return literal(text.encode())


def argument(text: str) -> bytes:
    """A UTF-8 command argument as a LITERAL+ literal (no continuation request to wait for)."""
    data = text.encode()
    return b"{%d+}\r\n%s" % (len(data), data)


class Wire:
    """One IMAPS connection, logged in and with INBOX selected, returning responses as raw bytes."""

    def __init__(self, node: ImapNode) -> None:
        self.sock: ssl.SSLSocket = insecure_context().wrap_socket(
            socket.create_connection(("127.0.0.1", node.tls_port), timeout=TIMEOUT))
        self.tags = 0
        self.sock.recv(4096)
        self.command(b'LOGIN %s "%s"' % (USER.encode(), PASSWORD.encode()))
        self.command(b"SELECT INBOX")

    def command(self, line: bytes) -> bytes:
        """Everything the server sent up to and including the tagged OK."""
        self.tags += 1
        tag = b"t%d" % self.tags
        self.sock.sendall(tag + b" " + line + b"\r\n")
        done = re.compile(rb"^" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n\Z", re.MULTILINE)
        data = b""
        while (match := done.search(data)) is None:
            chunk = self.sock.recv(65536)
            assert chunk, data
            data += chunk
        assert match.group(1) == b"OK", data
        return data[:match.start()]

    def append(self, message: bytes, flags: bytes = b"") -> None:
        self.command(b"APPEND INBOX " + (b"(" + flags + b") " if flags else b"") + b"{%d+}\r\n" % len(message) + message)

    def close(self) -> None:
        self.command(b"LOGOUT")
        self.sock.close()


@pytest.fixture
def server(tmp_path: Path, dns: DnsServer) -> Iterator[ImapNode]:
    with imap_node(tmp_path, dns) as node:
        yield node


@contextmanager
def wire(node: ImapNode) -> Iterator[Wire]:
    connection = Wire(node)
    try:
        yield connection
    finally:
        connection.close()


def test_envelope_of_smtputf8_mail_carries_raw_utf8_subject_and_names(server: ImapNode) -> None:
    with smtplib.SMTP("127.0.0.1", server.daemon.port("mx"), timeout=TIMEOUT) as smtp:
        smtp.sendmail("sender@remote.test", [USER], UTF8_MESSAGE, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    with wire(server) as client:
        reply = client.command(b"FETCH 1 (ENVELOPE)")
        header = client.command(b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    yamada = b"((" + utf8("山田 太郎") + b' NIL "yamada" "example.jp"))'
    assert reply == (b'* 1 FETCH (ENVELOPE ("Mon, 2 Feb 2026 10:00:00 +0900" ' + utf8("日本語の件名 テスト")
                     + b" " + yamada + b" " + yamada + b" " + yamada + b" ((" + utf8("佐藤")
                     + b' NIL "sato" "example.jp")) NIL NIL NIL "<u8@example.jp>"))\r\n')
    assert b"\xef\xbf\xbd" not in reply
    assert header.endswith(literal("Subject: 日本語の件名 テスト\r\n\r\n".encode()) + b")\r\n")


def test_bodystructure_carries_raw_utf8_attachment_filename(server: ImapNode) -> None:
    with wire(server) as client:
        client.append(UTF8_MESSAGE)
        reply = client.command(b"FETCH 1 (BODYSTRUCTURE)")
        basic = client.command(b"FETCH 1 (BODY)")
    name = utf8("見積書.pdf")
    assert reply == (b'* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 21 1 NIL NIL NIL NIL)'
                     b'("APPLICATION" "PDF" ("NAME" ' + name + b') NIL NIL "BASE64" 12 NIL ("ATTACHMENT" ("FILENAME" '
                     + name + b')) NIL NIL) "MIXED" ("BOUNDARY" "b1") NIL NIL NIL))\r\n')
    assert basic == (b'* 1 FETCH (BODY (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 21 1)'
                     b'("APPLICATION" "PDF" ("NAME" ' + name + b') NIL NIL "BASE64" 12) "MIXED"))\r\n')


def test_encoded_words_pass_through_undecoded(server: ImapNode) -> None:
    with wire(server) as client:
        client.append(ENCODED_MESSAGE)
        reply = client.command(b"FETCH 1 (ENVELOPE BODYSTRUCTURE)")
    yamada = b'(("=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=" NIL "yamada" "example.jp"))'
    name = b'"=?UTF-8?B?6KaL56mN5pu4LnBkZg==?="'
    assert reply == (b'* 1 FETCH (ENVELOPE (NIL "=?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=" ' + yamada + b" " + yamada
                     + b" " + yamada + b' ((NIL NIL "sato" "example.jp")) NIL NIL NIL NIL) BODYSTRUCTURE ("APPLICATION"'
                     b' "PDF" ("NAME" ' + name + b') NIL NIL "BASE64" 14 NIL ("ATTACHMENT" ("FILENAME" ' + name
                     + b")) NIL NIL))\r\n")


def test_raw_shift_jis_header_is_served_as_raw_bytes_without_harming_other_fields(server: ImapNode) -> None:
    with wire(server) as client:
        client.append(SJIS_MESSAGE)
        client.append(UTF8_MESSAGE)
        reply = client.command(b"FETCH 1 (ENVELOPE)")
        search = client.command(b"SEARCH CHARSET UTF-8 SUBJECT " + argument("表示"))
        after = client.command(b"FETCH 2 (ENVELOPE)")
    yamada = b"((" + literal("山田".encode("shift_jis")) + b' NIL "yamada" "example.jp"))'
    assert reply == (b"* 1 FETCH (ENVELOPE (NIL " + literal("表示テスト".encode("shift_jis")) + b" " + yamada + b" "
                     + yamada + b" " + yamada + b' ((NIL NIL "sato" "example.jp")) NIL NIL NIL "<sjis@example.jp>"))\r\n')
    assert search == b"* SEARCH\r\n"
    assert utf8("日本語の件名 テスト") in after


def test_search_subject_and_from_match_raw_utf8_headers(server: ImapNode) -> None:
    with wire(server) as client:
        client.append(UTF8_MESSAGE)
        client.append(ENCODED_MESSAGE)
        client.append(MIXED_MESSAGE)
        assert client.command(b"SEARCH CHARSET UTF-8 SUBJECT " + argument("件名")) == b"* SEARCH 1 2 3\r\n"
        assert client.command(b"SEARCH CHARSET UTF-8 SUBJECT " + argument("テスト")) == b"* SEARCH 1\r\n"
        assert client.command(b"SEARCH CHARSET UTF-8 FROM " + argument("太郎")) == b"* SEARCH 1\r\n"
        assert client.command(b"SEARCH CHARSET UTF-8 FROM " + argument("山田")) == b"* SEARCH 1 2\r\n"
        assert client.command(b"SEARCH CHARSET UTF-8 SUBJECT " + argument("日本語 件名")) == b"* SEARCH 3\r\n"


UPGRADE_SUBJECT = "Subject: 件名\r\nFrom: 山田 <a@example.jp>\r\n\r\nbody\r\n".encode()
UPGRADE_ATTACHMENT = ("From: a@example.jp\r\nSubject: pdf\r\nContent-Type: application/pdf; name=\"見積書.pdf\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n").encode()
# What the code before the fix cached for them in a format 1 index.
_MANGLED_NAME = "{18}\r\n" + "\ufffd" * 6
MANGLED_ENVELOPE = (f"(NIL {_MANGLED_NAME} (({_MANGLED_NAME} NIL \"a\" \"example.jp\")) (({_MANGLED_NAME} NIL \"a\" "
                    f"\"example.jp\")) (({_MANGLED_NAME} NIL \"a\" \"example.jp\")) NIL NIL NIL NIL NIL)")
MANGLED_BODYSTRUCTURE = ('("APPLICATION" "PDF" ("NAME" {31}\r\n' + "\ufffd" * 9
                         + '.pdf) NIL NIL "BASE64" 14 NIL NIL NIL NIL)')


def test_envelopes_cached_by_a_format_1_index_are_repaired_on_upgrade(tmp_path: Path, dns: DnsServer) -> None:
    fetch = b"FETCH 1:2 (ENVELOPE BODYSTRUCTURE)"
    bob = mailbox(USER, PASSWORD)  # the same mailbox (id) both times: the Maildir stays its own
    config = node_config(mailboxes=[bob], kinds=("mx", "imap", "imaps"), resolver=(dns.address,))
    with running_daemon(config, tmp_path) as live, wire(ImapNode(live, bob)) as client:
        client.append(UPGRADE_SUBJECT, b"\\Seen $Work")
        client.append(UPGRADE_ATTACHMENT, b"\\Seen")
        expected = client.command(fetch)
        inbox = live.maildir(USER)
    state = IndexFile(inbox).load()
    assert state is not None
    first, second = (state.messages[uid] for uid in (1, 2))
    first_row, second_row = first.row(), second.row()
    first_row[7], second_row[8] = MANGLED_ENVELOPE, MANGLED_BODYSTRUCTURE
    # As the old code left it: the first message in a format 1 snapshot, the second in its journal.
    (inbox / SNAPSHOT).write_text(json.dumps({"v": 1, "uidnext": state.uidnext, "modseq": state.highestmodseq,
                                              "messages": [first_row]}), encoding="utf-8")
    (inbox / JOURNAL).write_text(json.dumps(["add", second_row]) + "\n", encoding="utf-8")
    # Flagged by another program while maild was stopped: the journal names the file as it was.
    (inbox / "cur" / second.name).rename(inbox / "cur" / second.name.replace(":2,S", ":2,FS"))

    with running_daemon(config, tmp_path) as live, wire(ImapNode(live, bob)) as client:
        repaired = client.command(fetch)
        flags = client.command(b"FETCH 1:2 (FLAGS MODSEQ)")
    assert repaired == expected
    assert utf8("件名") in repaired and utf8("見積書.pdf") in repaired
    assert flags == (b"* 1 FETCH (FLAGS ($Work \\Seen) MODSEQ (%d))\r\n"
                     b"* 2 FETCH (FLAGS (\\Flagged \\Seen) MODSEQ (%d))\r\n" % (first.modseq, state.highestmodseq + 1))
    assert json.loads((inbox / SNAPSHOT).read_text(encoding="utf-8"))["v"] == 2
