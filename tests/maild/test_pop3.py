"""POP3 and POP3S against a live maild with poplib: what a client sends and what it gets back."""
from __future__ import annotations

import base64
import poplib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from maild.auth import Authenticator, Throttle, ThrottlePolicy
from tests.maild.dns_server import DnsServer
from tests.maild.pop3_support import (
    APOP_SECRET,
    OTHER_USER,
    PASSWORD,
    TIMEOUT,
    USER,
    Pop3Node,
    apop_digest,
    pop3_node,
    write_apop_key,
)
from tests.maild.support import insecure_context

FIRST = b"From: alice@remote.test\r\nTo: bob@example.test\r\nSubject: first\r\n\r\nhello\r\n"
STUFFED = (b"From: alice@remote.test\r\nSubject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n"
           b".\r\nmiddle . line\r\nlast\r\n")
LONG_BODY = (b"From: alice@remote.test\r\nSubject: long\r\nX-Extra: yes\r\n\r\n"
             + b"".join(b"body line %d\r\n" % n for n in range(1, 6)))


@pytest.fixture
def node(tmp_path: Path, dns: DnsServer) -> Iterator[Pop3Node]:
    with pop3_node(tmp_path, dns) as live:
        yield live


def raw_lines(client: poplib.POP3, command: bytes) -> list[bytes]:
    """Send `command` and return the multi-line reply exactly as it came over the wire."""
    client.sock.sendall(command + b"\r\n")
    lines = [client.file.readline()]
    while lines[0].startswith(b"+OK") and lines[-1] != b".\r\n":
        lines.append(client.file.readline())
    return lines


def login_when_released(node: Pop3Node) -> poplib.POP3_SSL:
    """Log in as soon as the server has noticed that the previous session went away."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        client = node.secure()
        client.user(USER)
        try:
            client.pass_(PASSWORD)
            return client
        except poplib.error_proto:
            client.close()
            assert time.monotonic() < deadline, "the maildrop stayed locked"
            time.sleep(0.05)


def command(client: poplib.POP3, line: str) -> bytes:
    """Send one command line and return the one-line reply, whatever it says."""
    client.sock.sendall(line.encode() + b"\r\n")
    reply: bytes = client.file.readline()
    return reply.rstrip(b"\r\n")


def err(call: Callable[..., object], *args: object) -> bytes:
    """The -ERR line a poplib call got (poplib raises error_proto on -ERR)."""
    with pytest.raises(poplib.error_proto) as caught:
        call(*args)
    reply: bytes = caught.value.args[0]
    return reply


# ---- TLS and authentication ----------------------------------------------------------------


def test_plain_port_refuses_passwords_before_stls_and_offers_stls(node: Pop3Node) -> None:
    client = node.plain()
    capabilities = client.capa()
    assert "STLS" in capabilities and "USER" not in capabilities and "SASL" not in capabilities
    assert err(client.user, USER).startswith(b"-ERR [AUTH]")
    assert err(client.pass_, PASSWORD).startswith(b"-ERR [AUTH]")
    plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    assert command(client, f"AUTH PLAIN {plain}").startswith(b"-ERR [AUTH]")
    client.quit()


def test_stls_then_user_pass_logs_in(node: Pop3Node) -> None:
    node.deliver(FIRST)
    client = node.plain()
    client.stls(insecure_context())
    capabilities = client.capa()
    assert "STLS" not in capabilities and "USER" in capabilities and capabilities["SASL"] == ["PLAIN"]
    client.user(USER)
    assert client.pass_(PASSWORD).startswith(b"+OK logged in, 1 messages")
    assert client.stat() == (1, len(node.stored()[0]))
    client.quit()


def test_wrong_password_gets_auth_error_and_stays_in_authorization(node: Pop3Node) -> None:
    client = node.secure()
    client.user(USER)
    assert err(client.pass_, "wrong").startswith(b"-ERR [AUTH]")
    assert err(client.stat).startswith(b"-ERR")
    client.user(USER)
    assert client.pass_(PASSWORD).startswith(b"+OK")
    client.quit()


def test_stls_with_pipelined_plaintext_is_refused(node: Pop3Node) -> None:
    with socket.create_connection(("127.0.0.1", node.port("pop3")), timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"+OK")
        sock.sendall(b"STLS\r\nUSER " + USER.encode() + b"\r\n")
        assert reader.readline().startswith(b"-ERR")
        assert reader.readline() == b""  # closed: nothing sent in the clear reaches the TLS session


def test_auth_plain_with_initial_response_and_with_continuation(node: Pop3Node) -> None:
    token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    client = node.secure()
    assert command(client, f"AUTH PLAIN {token}").startswith(b"+OK logged in")
    client.quit()
    client = node.secure()
    client.sock.sendall(b"AUTH PLAIN\r\n")
    assert client.file.readline() == b"+ \r\n"
    client.sock.sendall(token.encode() + b"\r\n")
    assert client.file.readline().startswith(b"+OK logged in")
    client.quit()


def test_auth_plain_for_another_identity_is_refused(node: Pop3Node) -> None:
    token = base64.b64encode(f"{OTHER_USER}\0{USER}\0{PASSWORD}".encode()).decode()
    client = node.secure()
    assert command(client, f"AUTH PLAIN {token}").startswith(b"-ERR")
    assert command(client, "AUTH PLAIN not-base64!").startswith(b"-ERR")
    client.quit()


def test_apop_with_right_digest_logs_in_even_before_tls(node: Pop3Node) -> None:
    node.deliver(FIRST)
    client = node.plain()
    greeting = client.getwelcome()
    assert b"<" in greeting and b"@" in greeting
    assert client.apop(USER, APOP_SECRET).startswith(b"+OK logged in, 1 messages")
    assert client.stat()[0] == 1
    client.quit()


def test_apop_with_wrong_digest_or_without_secret_is_refused(node: Pop3Node) -> None:
    client = node.plain()
    assert err(client.apop, USER, "not the secret").startswith(b"-ERR [AUTH]")
    # carol has no APOP secret: her password is no APOP secret either
    assert err(client.apop, OTHER_USER, PASSWORD).startswith(b"-ERR [AUTH]")
    digest = apop_digest(client.getwelcome(), APOP_SECRET)
    assert command(client, f"APOP {USER}").startswith(b"-ERR")  # digest missing
    assert command(client, f"APOP {USER} {digest.upper()}").startswith(b"+OK")
    client.quit()


def test_without_apop_key_greeting_has_no_timestamp_and_apop_is_refused(tmp_path: Path, dns: DnsServer) -> None:
    with pop3_node(tmp_path, dns, apop=False) as live:
        client = live.plain()
        assert b"<" not in client.getwelcome()
        assert command(client, f"APOP {USER} {'0' * 32}").startswith(b"-ERR")
        client.quit()


def test_failed_apop_logins_throttle_password_logins_too(tmp_path: Path, dns: DnsServer) -> None:
    strict = Authenticator(Throttle(ThrottlePolicy(tarpit_after=100, refuse_after=3)))
    with pop3_node(tmp_path, dns, runtime_options={"authenticator": strict}) as live:
        client = live.plain()
        for _ in range(3):
            assert err(client.apop, USER, "guess").startswith(b"-ERR [AUTH]")
        assert err(client.apop, USER, APOP_SECRET).startswith(b"-ERR [SYS/TEMP]")
        client.quit()
        client = live.secure()
        client.user(USER)
        assert err(client.pass_, PASSWORD).startswith(b"-ERR [SYS/TEMP]")
        client.quit()


def test_apop_key_file_written_after_start_and_a_bad_one_are_noticed(tmp_path: Path, dns: DnsServer) -> None:
    with pop3_node(tmp_path, dns, apop=False) as live:
        token = write_apop_key(tmp_path / "data")  # the panel's first APOP mailbox, maild already up
        config = live.daemon.holder.current
        bob = replace(config.mailboxes[USER], apop_secret=token)
        live.daemon.swap(replace(config, mailboxes={**config.mailboxes, USER: bob}))
        client = live.plain()
        assert client.apop(USER, APOP_SECRET).startswith(b"+OK")
        client.quit()
        (tmp_path / "data" / "apop.key").write_text("not a key at all\n")
        client = live.plain()
        assert b"<" not in client.getwelcome()
        assert command(client, f"APOP {USER} {'0' * 32}").startswith(b"-ERR")
        client.quit()


def test_second_session_on_a_maildrop_gets_in_use_until_the_first_quits(node: Pop3Node) -> None:
    first = node.login()
    second = node.secure()
    second.user(USER)
    assert err(second.pass_, PASSWORD).startswith(b"-ERR [IN-USE]")
    other = node.login(OTHER_USER)  # another mailbox is not locked
    other.quit()
    first.quit()
    second.user(USER)
    assert second.pass_(PASSWORD).startswith(b"+OK")
    second.quit()


# ---- TRANSACTION -----------------------------------------------------------------------------


def test_stat_list_and_uidl_describe_the_stored_messages(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY)
    sizes = [len(data) for data in node.stored()]
    client = node.login()
    assert client.stat() == (2, sum(sizes))
    assert client.list()[1] == [f"1 {sizes[0]}".encode(), f"2 {sizes[1]}".encode()]
    assert command(client, "LIST 2") == f"+OK 2 {sizes[1]}".encode()
    uidls = [line.split()[1] for line in client.uidl()[1]]
    assert len(set(uidls)) == 2 and all(len(u) <= 70 and u.isalnum() for u in uidls)
    assert client.uidl(1).split()[2] == uidls[0]
    assert err(client.list, 3).startswith(b"-ERR")
    client.quit()


def test_retr_sends_the_stored_bytes_dot_stuffed_with_crlf(node: Pop3Node) -> None:
    node.deliver(STUFFED)
    stored = node.stored()[0]
    client = node.login()
    wire = raw_lines(client, b"RETR 1")
    assert wire[0] == f"+OK {len(stored)} octets\r\n".encode()
    body = b"".join(wire[1:-1])
    assert b"\r\n..starts with a dot\r\n...two dots\r\n..\r\nmiddle . line\r\n" in body
    assert body.replace(b"\r\n..", b"\r\n.") == stored
    assert all(line.endswith(b"\r\n") and not line[:-2].endswith(b"\r") for line in wire)
    assert b"\r\n".join(client.retr(1)[1]) + b"\r\n" == stored  # poplib undoes the stuffing
    client.quit()


def test_top_sends_headers_blank_line_and_first_body_lines(node: Pop3Node) -> None:
    node.deliver(LONG_BODY)
    stored = node.stored()[0]
    headers = stored[: stored.index(b"\r\n\r\n")].split(b"\r\n")
    client = node.login()
    assert client.top(1, 2)[1] == headers + [b"", b"body line 1", b"body line 2"]
    assert client.top(1, 0)[1] == headers + [b""]
    assert client.top(1, 100)[1] == headers + [b""] + [b"body line %d" % n for n in range(1, 6)]
    assert err(client.top, 1, "x").startswith(b"-ERR")
    client.quit()


def test_dele_removes_messages_only_at_quit(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY, STUFFED)
    client = node.login()
    client.dele(2)
    assert client.stat()[0] == 2
    assert err(client.retr, 2).startswith(b"-ERR")
    assert err(client.dele, 2).startswith(b"-ERR")
    assert [line.split()[0] for line in client.list()[1]] == [b"1", b"3"]
    assert len(node.stored()) == 3  # nothing removed before QUIT
    assert client.quit().startswith(b"+OK")
    remaining = node.stored()
    assert len(remaining) == 2 and not any(b"Subject: long" in data for data in remaining)
    client = node.login()
    assert client.stat()[0] == 2
    client.quit()


def test_rset_unmarks_deletions(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY)
    client = node.login()
    client.dele(1)
    client.dele(2)
    assert client.stat()[0] == 0
    client.rset()
    assert client.stat()[0] == 2
    client.quit()
    assert len(node.stored()) == 2


def test_dropped_connection_deletes_nothing(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY)
    client = node.login()
    client.dele(1)
    client.dele(2)
    client.close()  # no QUIT: the session never reaches UPDATE
    client = login_when_released(node)  # the dropped session released the maildrop
    assert client.stat()[0] == 2
    client.quit()
    assert len(node.stored()) == 2


def test_uidl_is_stable_across_sessions_and_once_messages_are_read(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY)
    client = node.login()
    before = client.uidl()[1]
    client.retr(1)
    client.quit()  # retrieved mail is marked \Seen, as an IMAP client would mark it
    maildir = node.daemon.maildir(USER)
    assert [p.name.rpartition(":2,")[2] for p in (maildir / "cur").iterdir()] == ["S"]
    node.deliver(STUFFED)
    client = node.login()
    after = client.uidl()[1]
    assert after[:2] == before and after[2] not in before
    client.quit()


def test_uidl_is_imaps_uid_and_uidvalidity_and_ignores_imap_flag_changes(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY)
    client = node.login()
    before = client.uidl()[1]
    client.quit()
    imap = node.imap()
    imap.select("INBOX")
    assert imap.store("1:*", "+FLAGS", "(\\Seen \\Flagged $Label1)")[0] == "OK"
    uidvalidity = int(imap.status("INBOX", "(UIDVALIDITY)")[1][0].split()[-1].strip(b")"))
    uids = [int(uid) for uid in imap.uid("SEARCH", "ALL")[1][0].split()]
    imap.logout()
    client = node.login()
    assert client.uidl()[1] == before == [b"%d %08X%08X" % (n, uid, uidvalidity) for n, uid in enumerate(uids, 1)]
    client.quit()


def test_message_expunged_over_imap_mid_session_gets_err_and_the_rest_still_downloads(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY)
    client = node.login()
    imap = node.imap()
    imap.select("INBOX")
    imap.store("1", "+FLAGS", "(\\Deleted)")
    imap.expunge()
    imap.logout()
    assert err(client.retr, 1).startswith(b"-ERR")
    assert b"Subject: long" in client.retr(2)[1]
    client.dele(1)  # already gone: deleting it again at QUIT is harmless
    assert client.quit().startswith(b"+OK")
    assert [b"Subject: long" in data for data in node.stored()] == [True]


def test_mail_delivered_during_a_session_waits_for_the_next_one(node: Pop3Node) -> None:
    node.deliver(FIRST)
    client = node.login()
    node.deliver(LONG_BODY)
    assert client.stat()[0] == 1
    client.quit()
    client = node.login()
    assert client.stat()[0] == 2
    client.quit()


# ---- hostile and broken input ----------------------------------------------------------------


def test_bad_commands_get_err_and_the_session_continues(node: Pop3Node) -> None:
    node.deliver(FIRST)
    client = node.login()
    for line in ("FROB", "RETR", "RETR 0", "RETR -1", "RETR 99999999999", "RETR 1 2", "DELE x",
                 "TOP 1", "LIST 1 2", "USER someone", "STLS", "\u00e9\u00e9"):
        assert command(client, line).startswith(b"-ERR"), line
    client.sock.sendall(b"NOOP \xff\xfe\r\n")
    assert client.file.readline().startswith(b"-ERR")
    assert client.stat()[0] == 1
    client.quit()


def test_overlong_line_gets_err_and_close(node: Pop3Node) -> None:
    client = node.secure()
    client.sock.sendall(b"USER " + b"a" * 5000 + b"\r\n")
    assert client.file.readline().startswith(b"-ERR")
    assert client.file.readline() == b""


def test_many_bad_commands_end_the_session(node: Pop3Node) -> None:
    client = node.secure()
    client.sock.sendall(b"BOGUS\r\n" * 25)
    replies = [client.file.readline() for _ in range(21)]
    assert all(reply.startswith(b"-ERR") for reply in replies[:20]) and replies[20] == b""


def test_cleartext_client_on_the_pop3s_port_is_dropped_and_the_server_carries_on(node: Pop3Node) -> None:
    with socket.create_connection(("127.0.0.1", node.port("pop3s")), timeout=TIMEOUT) as sock:
        sock.sendall(b"USER bob@example.test\r\n")
        try:
            answer = sock.recv(4096)  # a TLS alert or nothing: no greeting in the clear
        except ConnectionResetError:
            answer = b""
        assert b"+OK" not in answer
    client = node.login()
    assert client.stat() == (0, 0)
    client.quit()


def test_idle_session_is_logged_out(tmp_path: Path, dns: DnsServer) -> None:
    with pop3_node(tmp_path, dns, idle_timeout=1) as live:
        live.deliver(FIRST)
        client = live.login()
        client.dele(1)
        assert client.file.readline().startswith(b"-ERR")  # the server speaks first, then closes
        assert client.file.readline() == b""
        client = live.login()
        assert client.stat()[0] == 1  # the timed-out session deleted nothing
        client.quit()


def test_pipelined_commands_are_answered_in_order(node: Pop3Node) -> None:
    node.deliver(FIRST, LONG_BODY)
    client = node.login()
    client.sock.sendall(b"STAT\r\nLIST 1\r\nUIDL 2\r\nNOOP\r\n")
    answers = [client.file.readline() for _ in range(4)]
    assert answers[0].startswith(b"+OK 2 ") and answers[1].startswith(b"+OK 1 ")
    assert answers[2].startswith(b"+OK 2 ") and answers[3].startswith(b"+OK")
    client.quit()
