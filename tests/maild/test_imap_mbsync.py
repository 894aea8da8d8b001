"""A real client: mbsync (Debian's isync) syncing a local Maildir with the IMAP server both ways."""
from __future__ import annotations

import email
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.maild.dns_server import DnsServer
from tests.maild.imap_server import PASSWORD, USER, ImapNode, imap_node

pytestmark = pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync (isync) is installed by make test")

FIRST = b"From: alice@remote.test\r\nSubject: first\r\n\r\nOne.\r\n"
SECOND = b"From: alice@remote.test\r\nSubject: second\r\n\r\nTwo.\r\n"
ARCHIVED = b"From: alice@remote.test\r\nSubject: archived\r\n\r\nOld.\r\n"


def subject(data: bytes) -> str:
    return str(email.message_from_bytes(data)["Subject"])


def body(data: bytes) -> bytes:
    """The body with line ends normalised (mbsync keeps LF locally, the server CRLF)."""
    return data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]


class Mbsync:
    def __init__(self, node: ImapNode, tmp_path: Path) -> None:
        self.local = tmp_path / "local"
        self.local.mkdir()
        certificate = tmp_path / "data" / "tls" / "self-signed.crt"
        self.config = tmp_path / "mbsyncrc"
        self.config.write_text(f"""
IMAPAccount tegami
Host 127.0.0.1
Port {node.tls_port}
User {USER}
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {certificate}
AuthMechs LOGIN

IMAPStore remote
Account tegami

MaildirStore local
Path {self.local}/
Inbox {self.local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def run(self) -> None:
        result = subprocess.run(["mbsync", "-c", str(self.config), "-a"], capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr.decode(errors="replace")

    def files(self, folder: str) -> dict[str, bytes]:
        """Local messages of a folder by file name."""
        return {path.name: path.read_bytes() for sub in ("cur", "new")
                for path in (self.local / folder / sub).iterdir()}


def test_mbsync_first_sync_flags_deletions_and_folders_both_ways(tmp_path: Path, dns: DnsServer) -> None:
    with imap_node(tmp_path, dns) as node:
        node.deliver(FIRST, SECOND)
        client = node.client(select=None)
        client.append("Archive", "(\\Seen)", None, ARCHIVED)
        sync = Mbsync(node, tmp_path)
        sync.run()

        inbox = sync.files("INBOX")
        assert sorted(subject(data) for data in inbox.values()) == ["first", "second"]
        assert sorted(body(data) for data in inbox.values()) == [b"One.\n", b"Two.\n"]
        assert [body(data) for data in sync.files("Archive").values()] == [b"Old.\n"]
        assert (sync.local / "Sent" / "cur").is_dir()  # the special-use folders came along

        # a flag set locally reaches the server; one set on the server reaches the local copy
        first_name = next(name for name, data in inbox.items() if subject(data) == "first")
        first_path = sync.local / "INBOX" / ("cur" if (sync.local / "INBOX" / "cur" / first_name).exists() else "new") / first_name
        base = first_name.split(":2,")[0]
        first_path.rename(sync.local / "INBOX" / "cur" / f"{base}:2,S")
        client.select("INBOX")
        client.store("2", "+FLAGS", "\\Flagged")
        sync.run()
        _, data = client.fetch("1", "FLAGS")
        assert b"\\Seen" in data[0]  # type: ignore[operator]
        second_name = next(name for name, data in sync.files("INBOX").items() if subject(data) == "second")
        assert "F" in second_name.split(":2,")[1]

        # a deletion on the server removes the local copy; a local deletion removes the server's
        client.store("2", "+FLAGS", "\\Deleted")
        client.expunge()
        (sync.local / "Archive" / "cur" / next(iter(sync.files("Archive")))).unlink()
        sync.run()
        assert [subject(data) for data in sync.files("INBOX").values()] == ["first"]
        client.select("Archive")
        assert client.search(None, "ALL")[1] == [b""]

        # a folder made on each side appears on the other
        for sub in ("cur", "new", "tmp"):
            (sync.local / "Projects" / sub).mkdir(parents=True)
        (sync.local / "Projects" / "cur" / "1.local:2,S").write_bytes(b"Subject: local\r\n\r\nMade here.\r\n")
        assert client.create("Remote-Made")[0] == "OK"
        sync.run()
        assert (sync.local / "Remote-Made" / "cur").is_dir()
        client.select("Projects")
        _, data = client.fetch("1", "BODY.PEEK[]")
        assert data[0][1].endswith(b"\r\n\r\nMade here.\r\n")  # type: ignore[index]  # CRLF on the server
        client.logout()
