"""The IMAP server against imaplib over loopback: login rules, messages, flags, quota, IDLE."""
from __future__ import annotations

import imaplib
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.maild.dns_server import DnsServer
from tests.maild.imap_server import PASSWORD, USER, ImapNode, imap_node, insecure_context

MESSAGE = (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: Lunch plans\r\n"
           b"Date: Mon, 2 Feb 2026 10:00:00 +0900\r\nMessage-ID: <1@example.org>\r\n\r\nSee you at noon.\r\n")
MULTIPART = (b"From: carol@example.org\r\nSubject: Report\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\nPreamble\r\n--b1\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
             b"caf=C3=A9 au lait\r\n--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n"
             b"Content-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             b"JVBERi0xLjQK\r\n--b1--\r\n")


@pytest.fixture
def server(tmp_path: Path, dns: DnsServer) -> Iterator[ImapNode]:
    with imap_node(tmp_path, dns) as node:
        yield node


def append(server: ImapNode, *messages: bytes, folder: str = "INBOX") -> None:
    """Store messages byte for byte (SMTP delivery would add trace headers)."""
    client = server.client(select=None)
    for message in messages:
        assert client.append(folder, None, None, message)[0] == "OK"
    client.logout()


def test_login_refused_before_starttls_and_accepted_after(server: ImapNode) -> None:
    client = imaplib.IMAP4("127.0.0.1", server.port, timeout=20)
    assert "LOGINDISABLED" in client.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        client.login(USER, PASSWORD)
    client.starttls(insecure_context())
    assert client.login(USER, PASSWORD)[0] == "OK"
    client.logout()


def test_wrong_password_is_refused(server: ImapNode) -> None:
    client = server.client(login=False)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(USER, "wrong")


def test_implicit_tls_and_authenticate_plain(server: ImapNode) -> None:
    client = imaplib.IMAP4_SSL("127.0.0.1", server.tls_port, ssl_context=insecure_context(), timeout=20)
    assert "AUTH=PLAIN" in client.capabilities
    typ, _ = client.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
    assert typ == "OK"
    client.logout()


def test_first_login_creates_special_use_folders(server: ImapNode) -> None:
    client = server.client(select=None)
    _, lines = client.list()
    listed = b"\n".join(lines)  # type: ignore[arg-type]
    for name, attribute in [(b"Sent", b"\\Sent"), (b"Drafts", b"\\Drafts"), (b"Trash", b"\\Trash"),
                            (b"Junk", b"\\Junk"), (b"Archive", b"\\Archive")]:
        assert attribute + b') "." "' + name + b'"' in listed
    _, subscribed = client.lsub()
    assert any(b'"Sent"' in line for line in subscribed)  # type: ignore[operator]


def test_fetch_returns_stored_bytes_envelope_and_sections(server: ImapNode) -> None:
    append(server, MESSAGE, MULTIPART)
    client = server.client()
    _, data = client.fetch("1", "(BODY.PEEK[] ENVELOPE RFC822.SIZE)")
    assert data[0][1] == MESSAGE  # type: ignore[index]
    assert b'"Lunch plans" (("Alice" NIL "alice" "example.org"))' in data[0][0]  # type: ignore[index,operator]
    assert b"RFC822.SIZE %d" % len(MESSAGE) in data[0][0]  # type: ignore[index,operator]
    _, data = client.fetch("2", "(BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[1]<0.4>)")
    head = data[0][0]  # type: ignore[index]
    assert b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 17 1' in head  # type: ignore[operator]
    assert b'"MIXED" ("BOUNDARY" "b1")' in head  # type: ignore[operator]
    assert data[0][1] == b"caf=C3=A9 au lait"  # the CRLF before a boundary belongs to it  # type: ignore[index]
    assert data[1][1].startswith(b"Content-Type: application/pdf")  # type: ignore[index]
    assert data[2][1] == b"Subject: Report\r\n\r\n"  # type: ignore[index]
    assert data[3][1] == b"caf="  # type: ignore[index]
    _, flags = client.fetch("1", "FLAGS")
    assert b"\\Seen" not in flags[0]  # type: ignore[operator]  # PEEK never sets \Seen
    client.fetch("1", "BODY[TEXT]")
    _, flags = client.fetch("1", "FLAGS")
    assert b"\\Seen" in flags[0]  # type: ignore[operator]


def test_search_keys_and_uid_search(server: ImapNode) -> None:
    append(server, MESSAGE, MULTIPART)
    client = server.client()
    client.store("2", "+FLAGS", "(\\Flagged)")
    assert client.search(None, "SUBJECT", "lunch")[1] == [b"1"]
    assert client.search(None, "FLAGGED")[1] == [b"2"]
    assert client.search(None, "NOT", "FLAGGED", "FROM", "alice")[1] == [b"1"]
    assert client.search(None, "OR", "FROM", "carol", "SUBJECT", "lunch")[1] == [b"1 2"]
    client.literal = "café".encode()  # type: ignore[attr-defined]
    assert client.search("UTF-8", "BODY")[1] == [b"2"]
    assert client.search(None, "SENTSINCE", "1-Feb-2026", "SENTBEFORE", "3-Feb-2026")[1] == [b"1"]
    assert client.search(None, "LARGER", str(len(MESSAGE)))[1] == [b"2"]
    assert client.uid("SEARCH", "UID", "2:*")[1] == [b"2"]
    assert client.search(None, "HEADER", "Message-ID", "1@example")[1] == [b"1"]
    typ, data = client.search("KOI8-R", "ALL")
    assert typ == "NO" and data[0].startswith(b"[BADCHARSET (UTF-8 US-ASCII)]")  # type: ignore[union-attr]


def test_store_keywords_survive_and_copy_move_report_uids(server: ImapNode) -> None:
    append(server, MESSAGE, MULTIPART)
    client = server.client()
    _, data = client.store("1", "+FLAGS", "($Label1 $Forwarded \\Answered)")
    assert b"$Forwarded $Label1 \\Answered" in data[0]  # type: ignore[operator]
    typ, data = client.copy("1", "Archive")
    assert typ == "OK" and b"[COPYUID " in data[0]  # type: ignore[operator]
    typ, _ = client._simple_command("MOVE", "2", "Trash")  # type: ignore[attr-defined]
    assert typ == "OK"
    assert client.response("EXPUNGE")[1] == [b"2"]
    client.select("Archive")
    _, data = client.fetch("1", "(FLAGS BODY.PEEK[])")
    assert b"$Label1" in data[0][0] and b"$Forwarded" in data[0][0]  # type: ignore[index,operator]
    assert data[0][1] == MESSAGE  # type: ignore[index]
    client.select("Trash")
    assert client.fetch("1", "BODY.PEEK[]")[1][0][1] == MULTIPART  # type: ignore[index]


def test_copy_to_missing_folder_says_trycreate(server: ImapNode) -> None:
    server.deliver(MESSAGE)
    client = server.client()
    typ, data = client.copy("1", "Nowhere")
    assert typ == "NO" and data[0].startswith(b"[TRYCREATE]")  # type: ignore[union-attr]


def test_expunge_removes_deleted_messages_only(server: ImapNode) -> None:
    for _ in range(3):
        server.deliver(MESSAGE)
    client = server.client()
    client.store("1,3", "+FLAGS", "\\Deleted")
    typ, data = client.expunge()
    assert data == [b"1", b"2"]  # UID 1 at 1, then UID 3, now at 2
    assert client.select("INBOX")[1] == [b"1"]
    assert client.uid("SEARCH", "ALL")[1] == [b"2"]


def test_append_keeps_crlf_flags_and_date(server: ImapNode) -> None:
    client = server.client()
    raw = b"Subject: bare\r\n\r\nline with trailing space \r\n\r\n\r\nend\r\n"
    typ, data = client.append("Drafts", "(\\Draft $Label2)", imaplib.Time2Internaldate(1_700_000_000), raw)
    assert typ == "OK" and b"[APPENDUID " in data[0]  # type: ignore[operator]
    client.select("Drafts")
    _, data = client.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert data[0][1] == raw  # type: ignore[index]
    assert b"\\Draft" in data[0][0] and b"$Label2" in data[0][0]  # type: ignore[index,operator]
    assert imaplib.Internaldate2tuple(data[0][0]) == time.localtime(1_700_000_000)  # type: ignore[index,arg-type]


def test_append_over_quota_is_refused_and_stores_nothing(tmp_path: Path, dns: DnsServer) -> None:
    with imap_node(tmp_path, dns, quota_bytes=2_000) as server:
        client = server.client()
        typ, data = client.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"x" * 3_000 + b"\r\n")
        assert typ == "NO" and data[0].startswith(b"[OVERQUOTA]")  # type: ignore[union-attr]
        assert client.select("INBOX")[1] == [b"0"]
        assert server.usage_messages() == 0
        assert not list((server.maildir / "new").iterdir()) and not list((server.maildir / "cur").iterdir())


def test_getquotaroot_reports_usage_and_limit_in_kib(server: ImapNode) -> None:
    append(server, b"Subject: q\r\n\r\n" + b"y" * 5000 + b"\r\n")
    client = server.client()
    typ, data = client.getquotaroot("INBOX")
    assert typ == "OK"
    assert data[0] == [b'"INBOX" ""']  # type: ignore[index]
    assert data[1] == [b'"" (STORAGE 5 48)']  # type: ignore[index]


def _idle(client: imaplib.IMAP4) -> socket.socket:
    tag = client._new_tag().decode()  # type: ignore[attr-defined]
    client.send(f"{tag} IDLE\r\n".encode())
    assert client.readline().startswith(b"+")
    client.sock.settimeout(20)
    return client.sock


def test_idle_sees_delivery_and_other_sessions_expunge(server: ImapNode) -> None:
    server.deliver(MESSAGE)
    server.deliver(MESSAGE)
    watcher = server.client()
    other = server.client()
    _idle(watcher)
    server.deliver(MULTIPART)
    assert watcher.readline() == b"* 3 EXISTS\r\n"
    assert watcher.readline() == b"* 3 RECENT\r\n"  # this session selected first: all three are its recent
    other.store("2", "+FLAGS", "\\Flagged")
    assert watcher.readline() == b"* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\n"
    other.store("1", "+FLAGS", "\\Deleted")
    other.expunge()
    lines = []
    while b"EXPUNGE" not in b"".join(lines):
        lines.append(watcher.readline())
    assert b"* 1 EXPUNGE\r\n" in lines
    watcher.send(b"DONE\r\n")
    assert watcher.readline().endswith(b"OK IDLE terminated\r\n")
    _, data = watcher.fetch("2", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert data[0][1] == b"Subject: Report\r\n\r\n"  # type: ignore[index]


def test_other_sessions_expunge_waits_while_fetching(server: ImapNode) -> None:
    for _ in range(3):
        server.deliver(MESSAGE)
    first = server.client()
    second = server.client()
    second.store("2", "+FLAGS", "\\Deleted")
    second.expunge()
    typ, data = first.fetch("3", "UID")  # still sequence 3 for this session: no EXPUNGE during FETCH
    assert data == [b"3 (UID 3)"]
    first.noop()
    assert first.response("EXPUNGE")[1] == [b"2"]
    assert first.fetch("2", "UID")[1] == [b"2 (UID 3)"]


def test_flag_change_in_one_session_reaches_the_other(server: ImapNode) -> None:
    server.deliver(MESSAGE)
    first = server.client()
    second = server.client()
    first.store("1", "+FLAGS", "\\Flagged")
    second.noop()
    assert b"\\Flagged" in second.response("FETCH")[1][0]  # type: ignore[operator]


def _raw(server: ImapNode) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", server.tls_port), timeout=20)
    tls = insecure_context().wrap_socket(sock)
    tls.recv(4096)
    return tls


def _read_until(sock: ssl.SSLSocket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_hostile_input_gets_bad_or_close_never_a_crash(server: ImapNode) -> None:
    sock = _raw(server)
    sock.sendall(b"a1 LOGIN {99999999999}\r\n")
    assert b"a1 NO [TOOBIG]" in _read_until(sock, b"\r\n")
    sock.sendall(b"a2 NOOP " + b"(" * 100 + b")" * 100 + b"\r\n")
    assert b"a2 BAD" in _read_until(sock, b"a2 ")
    sock.sendall(b"a3 LOGIN \"\xff\xfe\" \"x\"\r\n")
    assert b"a3 BAD" in _read_until(sock, b"a3 ")
    sock.sendall(b"a4 FETCH\r\n* BOGUS\r\n\r\n")
    reply = _read_until(sock, b"* BAD")
    assert b"a4 BAD" in reply
    sock.sendall(b"x" * 70_000)
    assert b"BYE" in _read_until(sock, b"BYE")
    sock.close()
    sock = _raw(server)
    sock.sendall(b"b1 APPEND INBOX {999999999+}\r\n")
    assert b"BYE" in _read_until(sock, b"BYE")
    sock.close()
    # the server still serves
    client = server.client()
    assert client.noop()[0] == "OK"


def test_folder_lifecycle_with_modified_utf7_names(server: ImapNode) -> None:
    client = server.client(select=None)
    japanese = "&MFcwiTB5MGY-"  # modified UTF-7 of しらべて
    assert client.create(f"Projects.{japanese}")[0] == "OK"
    assert client.create("Projects.2026")[0] == "OK"
    typ, data = client.create("Projects.2026")
    assert typ == "NO" and data[0].startswith(b"[ALREADYEXISTS]")  # type: ignore[union-attr]
    assert (server.maildir / f".Projects.{japanese}" / "cur").is_dir()  # Dovecot's layout on disk
    _, listed = client.list('""', "Projects.%")
    assert sorted(listed) == [f'(\\HasNoChildren) "." "Projects.{japanese}"'.encode(),  # type: ignore[type-var]
                              b'(\\HasNoChildren) "." "Projects.2026"']
    _, top = client.list('""', "%")
    assert b'(\\Noselect \\HasChildren) "." "Projects"' in top  # implied parent of the Maildir++ children
    assert client.rename("Projects.2026", "Done")[0] == "OK"
    assert client.status("Done", "(MESSAGES UIDNEXT)")[1] == [b'"Done" (MESSAGES 0 UIDNEXT 1)']
    assert client.delete("Done")[0] == "OK"
    typ, data = client.select("Done")
    assert typ == "NO" and data[0].startswith(b"[NONEXISTENT]")  # type: ignore[union-attr]
    for bad in ("Bad&Name", "Star*", "a..b"):
        typ, data = client.create(bad)
        assert typ == "NO" and data[0].startswith(b"[CANNOT]"), bad  # type: ignore[union-attr]
    assert client.namespace()[1] == [b'(("" ".")) NIL NIL']


def test_condstore_modseq_changedsince_and_unchangedsince(server: ImapNode) -> None:
    append(server, MESSAGE, MESSAGE)
    client = server.client(select=None)
    assert client._simple_command("SELECT", "INBOX", "(CONDSTORE)")[0] == "OK"  # type: ignore[attr-defined]
    assert client.response("HIGHESTMODSEQ")[1][0] is not None
    client.state = "SELECTED"  # imaplib has no SELECT with parameters
    modseqs = {}
    _, data = client.fetch("1:2", "(MODSEQ)")
    for line in data:
        number, _, rest = line.partition(b" ")  # type: ignore[union-attr]
        modseqs[int(number)] = int(rest.split(b"MODSEQ (")[1].split(b")")[0])
    client.store("2", "+FLAGS", "\\Seen")
    _, data = client.fetch("1:*", f"(FLAGS) (CHANGEDSINCE {max(modseqs.values())})")
    assert len(data) == 1 and data[0].startswith(b"2 (FLAGS (\\Seen")  # type: ignore[union-attr]
    typ, data = client._simple_command("STORE", "1", "(UNCHANGEDSINCE 1)", "+FLAGS", "\\Flagged")  # type: ignore[attr-defined]
    assert typ == "OK" and data[-1].startswith(b"[MODIFIED 1]")  # type: ignore[union-attr]


FORWARDED = (b"From: dave@example.org\r\nSubject: Fwd: minutes\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\n"
             b"See below.\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\nFrom: erin@example.org\r\n"
             b"Subject: minutes\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n"
             b"Content-Type: text/plain\r\n\r\nplain minutes\r\n--inner\r\nContent-Type: text/html\r\n\r\n"
             b"<p>html minutes</p>\r\n--inner--\r\n\r\n--outer--\r\n")


def test_sections_of_an_attached_message(server: ImapNode) -> None:
    append(server, FORWARDED)
    client = server.client()
    _, data = client.fetch("1", "(BODY.PEEK[2.HEADER] BODY.PEEK[2.1] BODY.PEEK[2.2] BODY.PEEK[2.TEXT]<0.9> "
                                "BODY.PEEK[2.MIME] BODY.PEEK[3] BODYSTRUCTURE)")
    assert data[0][1] == b"From: erin@example.org\r\nSubject: minutes\r\n" \
                         b"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"  # type: ignore[index]
    assert data[1][1] == b"plain minutes"  # type: ignore[index]
    assert data[2][1] == b"<p>html minutes</p>"  # type: ignore[index]
    assert data[3][1] == b"--inner\r\n"  # type: ignore[index]
    assert data[4][1] == b"Content-Type: message/rfc822\r\n\r\n"  # type: ignore[index]
    assert data[5][1] == b""  # type: ignore[index]  # no part 3
    structure = data[0][0]  # type: ignore[index]
    assert b'"MESSAGE" "RFC822" NIL NIL NIL "7BIT"' in structure and b'(NIL "minutes" ((NIL NIL "erin"' in structure  # type: ignore[operator]


def test_copy_over_quota_copies_nothing(tmp_path: Path, dns: DnsServer) -> None:
    with imap_node(tmp_path, dns, quota_bytes=3_000) as server:
        body = b"Subject: half\r\n\r\n" + b"z" * 1_200 + b"\r\n"
        append(server, body, body)
        client = server.client()
        typ, data = client.copy("1:2", "Archive")
        assert typ == "NO" and data[0].startswith(b"[OVERQUOTA]")  # type: ignore[union-attr]
        assert client.status("Archive", "(MESSAGES)")[1] == [b'"Archive" (MESSAGES 0)']


def test_commands_pipelined_after_starttls_are_refused(server: ImapNode) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    sock.recv(4096)
    sock.sendall(b"a1 STARTTLS\r\na2 LOGIN bob@example.test x\r\n")
    reply = b""
    while b"a1 " not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    assert b"* BYE" in reply and b"a1 NO" in reply
    sock.close()


def test_search_nested_too_deeply_is_bad_and_session_survives(server: ImapNode) -> None:
    append(server, MESSAGE)
    client = server.client()
    with pytest.raises(imaplib.IMAP4.error, match="nested too deeply"):
        client.search(None, " ".join(["NOT"] * 5000) + " ALL")
    assert client.search(None, "NOT", "NOT", "ALL")[1] == [b"1"]


def test_close_expunges_deleted_but_unselect_and_examine_do_not(server: ImapNode) -> None:
    append(server, MESSAGE, MESSAGE, MESSAGE)
    client = server.client()
    client.store("1", "+FLAGS", "\\Deleted")
    assert client._simple_command("UNSELECT")[0] == "OK"  # type: ignore[attr-defined]
    assert client.select("INBOX")[1] == [b"3"]
    client.store("2", "+FLAGS", "\\Deleted")
    client.close()
    assert client.select("INBOX", readonly=True)[1] == [b"1"]
    typ, data = client.store("1", "+FLAGS", "\\Seen")
    assert typ == "NO" and data[0].startswith(b"[READ-ONLY]")  # type: ignore[union-attr]
    client.close()
    assert client.select("INBOX")[1] == [b"1"]


def test_rename_inbox_moves_its_messages_and_leaves_it_empty(server: ImapNode) -> None:
    append(server, MESSAGE, MULTIPART)
    client = server.client(select=None)
    assert client.rename("INBOX", "Old-Inbox")[0] == "OK"
    assert client.status("INBOX", "(MESSAGES)")[1] == [b'"INBOX" (MESSAGES 0)']
    client.select("Old-Inbox")
    assert client.fetch("2", "BODY.PEEK[]")[1][0][1] == MULTIPART  # type: ignore[index]


def test_id_enable_and_capability_after_login(server: ImapNode) -> None:
    client = server.client(select=None)
    assert client.xatom("ID", '("name" "pytest")')[0] == "OK"
    assert client.response("ID")[1] == [b'("name" "Tegami maild" "vendor" "Tegami")']
    assert client.enable("CONDSTORE")[0] == "OK"
    _, caps = client.capability()
    assert b"IDLE" in caps[0] and b"STARTTLS" not in caps[0] and b"AUTH=" not in caps[0]  # type: ignore[operator]


def test_session_silent_past_the_change_log_catches_up_correctly(server: ImapNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("maild.store.folder.MAX_CHANGE_LOG", 5)
    append(server, *[MESSAGE] * 4)
    silent = server.client()
    busy = server.client()
    for _ in range(3):
        busy.append("INBOX", None, None, MULTIPART)
    busy.store("1:2", "+FLAGS", "\\Deleted")
    busy.expunge()
    busy.store("3", "+FLAGS", "\\Flagged")
    silent.noop()
    assert silent.response("EXPUNGE")[1] == [b"2", b"1"]  # resynchronised: descending, each still valid
    assert silent.response("EXISTS")[1][-1] == b"5"
    assert silent.uid("SEARCH", "ALL")[1] == [b"3 4 5 6 7"]
    assert silent.search(None, "FLAGGED")[1] == [b"3"]  # UID 5


def test_selecting_moves_seen_messages_from_new_to_cur_keeping_flags(server: ImapNode) -> None:
    server.deliver(MESSAGE, MESSAGE)
    assert len(list((server.maildir / "new").iterdir())) == 2
    client = server.client()
    assert client.response("RECENT")[1] == [b"2"]
    client.noop()
    assert not list((server.maildir / "new").iterdir())
    assert sorted(path.name.rpartition(":2,")[2] for path in (server.maildir / "cur").iterdir()) == ["", ""]
    other = server.client()
    assert other.response("RECENT")[1] == [b"0"]
    assert client.fetch("1:2", "(FLAGS)")[1] == [b"1 (FLAGS (\\Recent))", b"2 (FLAGS (\\Recent))"]
