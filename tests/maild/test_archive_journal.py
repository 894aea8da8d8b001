"""The journal on its own: search by every field, tamper evidence, retention and legal hold."""
from __future__ import annotations

import sqlite3
import zlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from maild.archive import reader
from maild.archive.cli import main as archive_cli
from maild.archive.journal import Envelope, Journal
from maild.archive.retention import purge
from maild.archive.verify import verify
from maild.bundle import BundleContent, write_bundle
from tests.maild.support import domain, node_config

DOMAIN = "example.test"
HTML = ("From: Carol <carol@partner.test>\r\nTo: bob@example.test\r\nSubject: =?utf-8?b?5Lya6K2w44Gu5qGI5YaF?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Budget <b>meeting</b> 来週の会議</p>"
        "<script>stealCookies()</script>\r\n--b--\r\n").encode()
PLAIN = b"From: bob@example.test\r\nTo: x@remote.test\r\nSubject: Invoice 2026-7\r\n\r\nTotal due: 42 yen\r\n"


def received(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="microseconds")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    journal = Journal(tmp_path)
    journal.append(DOMAIN, Envelope("in", "carol@partner.test", ("bob@example.test",), "192.0.2.7", None,
                                    received(40)), HTML)
    journal.append(DOMAIN, Envelope("out", "bob@example.test", ("x@remote.test", "y@remote.test"), "198.51.100.2",
                                    "bob@example.test", received(10)), PLAIN)
    journal.append(DOMAIN, Envelope("in", "", ("bob@example.test",), "192.0.2.9", None, received(1)),
                   b"Subject: bounce\r\n\r\nundeliverable\r\n")
    journal.close()
    return tmp_path


def subjects(root: Path, **fields: object) -> list[str]:
    return [hit.subject for hit in reader.search(root, [DOMAIN], reader.Query(**fields))]  # type: ignore[arg-type]


def test_search_by_each_field_and_body_text(root: Path) -> None:
    assert subjects(root, sender="partner") == ["会議の案内"]
    assert subjects(root, recipient="y@remote") == ["Invoice 2026-7"]
    assert subjects(root, subject="invoice") == ["Invoice 2026-7"]  # any case
    assert subjects(root, direction="out") == ["Invoice 2026-7"]
    assert subjects(root, text="meeting") == ["会議の案内"]  # text of the HTML part
    assert subjects(root, text="会議") == ["会議の案内"]  # two characters: shorter than a trigram
    assert subjects(root, subject="会議") == ["会議の案内"]
    assert subjects(root, text="来週") == ["会議の案内"]  # two characters of the body, through the pair index
    assert subjects(root, text="週会") == []  # not adjacent in the text: no false match across words
    assert subjects(root, sender="PA") == ["会議の案内"]  # short ASCII: any case too
    assert subjects(root, text="42 yen") == ["Invoice 2026-7"]
    assert subjects(root, text="stealCookies") == []  # script is not text
    today = datetime.now(UTC).date()
    assert subjects(root, since=today - timedelta(days=11), until=today - timedelta(days=9)) == ["Invoice 2026-7"]
    assert subjects(root) == ["bounce", "Invoice 2026-7", "会議の案内"]  # newest first
    assert reader.count(root, [DOMAIN], reader.Query(direction="in")) == 2
    assert subjects(root, text='" OR x NEAR(') == []  # FTS syntax in the input is only text


def test_pages_and_unknown_domains(root: Path) -> None:
    page = reader.search(root, [DOMAIN, "nothing.test"], reader.Query(), offset=1, limit=1)
    assert [hit.subject for hit in page] == ["Invoice 2026-7"]


def test_bad_query_is_a_clear_error(root: Path) -> None:
    with pytest.raises(reader.QueryError) as error:
        reader.count(root, [DOMAIN], reader.Query(since=date(2026, 5, 2), until=date(2026, 5, 1)))
    assert error.value.field == "until"


def test_read_message_returns_the_exact_bytes(root: Path) -> None:
    hit, data = reader.read_message(root, DOMAIN, 2)  # type: ignore[misc]
    assert data == PLAIN and hit.auth_user == "bob@example.test"
    assert reader.read_message(root, DOMAIN, 99) is None
    assert reader.read_message(root, DOMAIN, 10**30) is None  # beyond SQLite's integers: no such entry, no crash


def tamper(root: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(root / DOMAIN / "journal.sqlite") as connection:
        connection.execute(sql, params)


def problems(root: Path) -> list[str]:
    return verify(root, DOMAIN).problems


def test_verify_passes_an_untouched_journal(root: Path) -> None:
    report = verify(root, DOMAIN)
    assert report.ok and report.entries == 3


def test_verify_detects_a_modified_message(root: Path) -> None:
    tamper(root, "UPDATE entry SET message = ? WHERE seq = 2", zlib.compress(PLAIN.replace(b"42", b"24")))
    assert problems(root) == ["entry 2: content or envelope modified (hash mismatch)"]


def test_verify_detects_a_modified_envelope(root: Path) -> None:
    tamper(root, "UPDATE entry SET recipients = '[\"x@remote.test\"]' WHERE seq = 2")
    assert problems(root) == ["entry 2: content or envelope modified (hash mismatch)"]


def test_verify_detects_a_removed_entry(root: Path) -> None:
    tamper(root, "DELETE FROM entry WHERE seq = 2")
    assert "entry 3: expected entry 2 (removed or reordered)" in problems(root)


def test_verify_detects_the_last_entry_removed(root: Path) -> None:
    tamper(root, "DELETE FROM entry WHERE seq = 3")
    assert problems(root) == ["entries 3-3 removed from the end"]


def test_verify_detects_reordered_entries(root: Path) -> None:
    with sqlite3.connect(root / DOMAIN / "journal.sqlite") as connection:
        rows = {seq: row for seq, *row in connection.execute(
            "SELECT seq, received_at, direction, sender, recipients, client_ip, auth_user, subject, size, stored,"
            " message, prev_hash, hash FROM entry")}
        columns = "received_at, direction, sender, recipients, client_ip, auth_user, subject, size, stored, message," \
                  " prev_hash, hash"
        for seq, other in ((1, 2), (2, 1)):
            assignments = ", ".join(f"{column.strip()} = ?" for column in columns.split(","))
            connection.execute(f"UPDATE entry SET {assignments} WHERE seq = ?", (*rows[other], seq))
    assert len(problems(root)) >= 2


def test_verify_command_exit_status(root: Path, tmp_path_factory: pytest.TempPathFactory,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path_factory.mktemp("data")
    (data / "archive").symlink_to(root)
    assert archive_cli(["verify", "--data", str(data)]) == 0
    tamper(root, "UPDATE entry SET sender = 'mallory@evil.test' WHERE seq = 1")
    assert archive_cli(["verify", "--data", str(data)]) == 1
    assert "example.test: 3 entries, TAMPERED" in capsys.readouterr().out


def test_purge_removes_only_entries_past_retention_and_the_rest_still_verifies(root: Path) -> None:
    done = purge(root, DOMAIN, 30, legal_hold=False, now=datetime.now(UTC))
    assert done is not None and done.entries == 1
    assert subjects(root) == ["bounce", "Invoice 2026-7"]
    assert verify(root, DOMAIN).ok
    [record] = reader.purges(root, DOMAIN)
    assert (record.entries, record.last_seq) == (1, 1)
    assert reader.purges(root, DOMAIN, after=record.id) == []
    journal = Journal(root)
    assert journal.append(DOMAIN, Envelope("in", "a@b.test", ("bob@example.test",), "192.0.2.1"), PLAIN) == 4
    assert verify(root, DOMAIN).ok


def test_legal_hold_and_unlimited_retention_keep_everything(root: Path) -> None:
    assert purge(root, DOMAIN, 5, legal_hold=True, now=datetime.now(UTC)) is None
    assert purge(root, DOMAIN, 0, legal_hold=False, now=datetime.now(UTC)) is None
    assert len(subjects(root)) == 3
    assert reader.purges(root, DOMAIN) == []


def test_held_search_results_survive_purges_and_the_chain_still_verifies(root: Path) -> None:
    """Entries 2 and 3 are past a 5-day retention; a hold from entry 2 keeps them (and 3)."""
    assert purge(root, DOMAIN, 5, legal_hold=False, now=datetime.now(UTC), hold_from=1) is None
    done = purge(root, DOMAIN, 5, legal_hold=False, now=datetime.now(UTC), hold_from=2)
    assert done is not None and done.entries == 1
    assert subjects(root) == ["bounce", "Invoice 2026-7"]
    assert verify(root, DOMAIN).ok


def test_usage_counts_stored_bytes(root: Path) -> None:
    usage = reader.usage(root, DOMAIN)
    assert usage.messages == 3 and 0 < usage.bytes < len(HTML) + len(PLAIN) + 100


def test_purge_command_follows_retention_and_legal_hold_from_the_bundle(
        root: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    Journal(root).append("held.test", Envelope("in", "a@b.test", ("c@held.test",), "192.0.2.1", None, received(400)),
                         PLAIN)
    config = node_config(domains=[replace(domain(DOMAIN), archive=True, archive_retention_days=30),
                                  replace(domain("held.test"), archive=True, archive_retention_days=30,
                                          legal_hold=True)], kinds=())
    bundle = tmp_path_factory.mktemp("bundle")
    write_bundle(bundle, lambda: BundleContent(config.server, config.domains.values(), (), ()))
    data = tmp_path_factory.mktemp("data")
    (data / "archive").symlink_to(root)
    assert archive_cli(["purge", "--bundle", str(bundle), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "example.test: purged 1 entries" in out and "held.test: legal hold, kept" in out
    assert reader.count(root, ["held.test"], reader.Query()) == 1
    assert reader.count(root, [DOMAIN], reader.Query()) == 2
    assert archive_cli(["verify", "--data", str(data), "--domain", "../etc"]) == 2


def test_hostile_mime_is_journaled_as_received(tmp_path: Path) -> None:
    raw = (b"Subject: =?x-bogus?q?abc?= \xff\xfe\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
           + b"--z\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n" * 200
           + b"--z\r\nContent-Type: text/plain; charset=x-bogus\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             b"!!!not base64\xff\r\n--z--\r\n")
    journal = Journal(tmp_path)
    journal.append(DOMAIN, Envelope("in", "", ("a@example.test",), "192.0.2.1"), raw)
    [(hit, data)] = list(reader.matching(tmp_path, [DOMAIN], reader.Query()))
    assert data == raw and hit.sender == ""
    assert verify(tmp_path, DOMAIN).ok
