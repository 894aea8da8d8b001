"""Usage reports, pooled storage, quota warnings and cleanup in maild."""
from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
import imaplib
import json
import smtplib
import time
from dataclasses import replace
from pathlib import Path

import pytest

from maild.bundle import BundleContent, ConfigHolder, write_bundle
from maild.cleanup import clean
from maild.config import Config, Listener
from maild.store import Store
from maild.usage import Reporter, warning_message
from maild.usage_commands import cleanup_main
from tests.maild.dns_server import DnsServer
from tests.maild.support import MaildProcess, domain, insecure_context, mailbox, node_config, running_daemon, stored_messages

TIMEOUT = 20.0
DAY = 86400


def message(size: int, subject: str = "hello") -> bytes:
    head = f"From: a@remote.test\r\nTo: b@example.test\r\nSubject: {subject}\r\n\r\n".encode()
    return head + b"x" * (size - len(head))


def reports(data_dir: Path) -> list[dict[str, object]]:
    outbox = data_dir / "usage" / "outbox"
    return [json.loads(path.read_text()) for path in sorted(outbox.glob("*.json"))]


def test_usage_reported_after_delivery_and_after_expunge(tmp_path: Path) -> None:
    bob, ann = mailbox("bob@example.test"), mailbox("ann@example.test")
    config = node_config(mailboxes=[bob, ann])
    store = Store(tmp_path / "mail")
    reporter = Reporter(ConfigHolder(config), store, tmp_path)

    async def scenario() -> list[dict[str, object]]:
        await reporter.report(full=True)
        await store.deliver(bob, message(1000))
        await store.deliver(bob, message(500))
        await reporter.report()
        inbox = await store.folder(bob, "INBOX")
        await inbox.expunge([inbox.uids[0]])
        await reporter.report()
        assert await reporter.report() is None  # nothing changed since: no file
        return reports(tmp_path)

    full, delivered, expunged = asyncio.run(scenario())
    assert full["full"] is True and sorted(row[0] for row in full["mailboxes"]) == sorted([bob.id, ann.id])
    assert delivered["mailboxes"] == [[bob.id, 1500, 2]]  # only the mailbox that changed
    assert expunged["mailboxes"] == [[bob.id, 500, 1]]
    assert store.usage(bob).bytes == 500


def pool_config(dns: DnsServer, pool: int) -> tuple[Config, list[object]]:
    boxes = [mailbox(f"{name}@example.test", "pw", quota_bytes=1_000_000, customer_id=7) for name in ("bob", "ann")]
    boxes = [replace(box, pool_bytes=pool) for box in boxes]
    other = mailbox("eve@other.test", "pw", quota_bytes=1_000_000, customer_id=8)
    config = node_config(mailboxes=[*boxes, other], kinds=("mx", "imap"), resolver=(dns.address,),
                         domains=[domain("example.test", customer_id=7), domain("other.test", customer_id=8)])
    return config, [*boxes, other]


def test_pool_full_refuses_delivery_the_mailbox_quota_allows_with_452(tmp_path: Path, dns: DnsServer) -> None:
    config, _ = pool_config(dns, pool=10_000)
    with running_daemon(config, tmp_path) as live, \
            smtplib.SMTP("127.0.0.1", live.port("mx"), timeout=TIMEOUT) as smtp:
        smtp.sendmail("s@remote.test", ["bob@example.test"], message(7000))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("s@remote.test", ["ann@example.test"], message(4000), mail_options=["SIZE=4000"])
        code, reply = refused.value.recipients["ann@example.test"]
        assert (code, reply[:5]) == (452, b"4.2.2")
        smtp.mail("s@remote.test")  # no SIZE declared: accepted at RCPT, refused at DATA
        assert smtp.rcpt("ann@example.test")[0] == 250
        code, reply = smtp.data(message(4000))
        assert (code, reply[:5]) == (452, b"4.2.2")
        smtp.mail("s@remote.test")  # beside a recipient with room: a temporary refusal is for all,
        for recipient in ("ann@example.test", "eve@other.test"):  # so the client's retry duplicates nothing
            assert smtp.rcpt(recipient)[0] == 250
        code, reply = smtp.data(message(4000))
        assert (code, reply[:5]) == (452, b"4.2.2")
        assert stored_messages(live.maildir("eve@other.test")) == [] and live.queue.queued == []
        smtp.sendmail("s@remote.test", ["ann@example.test"], message(2000))  # still fits the pool
        smtp.sendmail("s@remote.test", ["eve@other.test"], message(9000))  # another customer's pool


def test_append_over_the_pool_gets_overquota(tmp_path: Path, dns: DnsServer) -> None:
    config, _ = pool_config(dns, pool=10_000)
    with running_daemon(config, tmp_path) as live, \
            smtplib.SMTP("127.0.0.1", live.port("mx"), timeout=TIMEOUT) as smtp:
        smtp.sendmail("s@remote.test", ["bob@example.test"], message(8000))
        client = imaplib.IMAP4("127.0.0.1", live.port("imap"), timeout=TIMEOUT)
        client.starttls(insecure_context())
        client.login("ann@example.test", "pw")
        status, data = client.append("INBOX", None, None, message(3000))
        assert status == "NO" and b"[OVERQUOTA]" in data[0]
        status, _ = client.append("INBOX", None, None, message(1500))
        assert status == "OK"
        client.logout()


def test_warning_delivered_once_per_threshold_crossing(tmp_path: Path) -> None:
    bob = mailbox("bob@example.test", quota_bytes=10_000)
    store = Store(tmp_path / "mail")
    reporter = Reporter(ConfigHolder(node_config(mailboxes=[bob])), store, tmp_path)

    async def subjects() -> list[str]:
        inbox = await store.folder(bob, "INBOX")
        found = []
        for uid in inbox.uids:
            lines = (await inbox.read(uid)).split(b"\r\n")
            for line in lines:
                if line.startswith(b"Subject: Your mailbox"):
                    assert lines[0] == b"Return-Path: <>"  # from the mail system itself
                    found.append(line.decode())
        return found

    async def scenario() -> list[list[str]]:
        seen = []
        await store.deliver(bob, message(7000))
        await reporter.report()
        seen.append(await subjects())  # 70%: nothing
        await store.deliver(bob, message(1100))
        await reporter.report()
        await reporter.report(full=True)  # reported again: no second warning
        seen.append(await subjects())
        await store.deliver(bob, message(1500))
        await reporter.report()
        seen.append(await subjects())
        inbox = await store.folder(bob, "INBOX")
        await inbox.expunge(list(inbox.uids))  # back to zero: warnings re-armed
        await reporter.report()
        await store.deliver(bob, message(8500))
        await reporter.report()
        seen.append(await subjects())
        return seen

    below, at_80, at_95, again = asyncio.run(scenario())
    assert below == []
    assert at_80 == ["Subject: Your mailbox is 80% full"]
    assert at_95 == ["Subject: Your mailbox is 80% full", "Subject: Your mailbox is 95% full"]
    assert again == ["Subject: Your mailbox is 80% full"]
    warned = [row for report in reports(tmp_path) for row in report["warnings"]]
    assert warned == [[bob.id, 80], [bob.id, 95], [bob.id, 80]]


def test_cleanup_removes_only_what_the_policy_says(tmp_path: Path) -> None:
    bob, ann = mailbox("bob@example.test"), mailbox("ann@keep.test")
    config = node_config(mailboxes=[bob, ann], domains=[
        replace(domain("example.test"), trash_days=30, archive_days=90), domain("keep.test")])
    store = Store(tmp_path / "mail")
    now = time.time()
    old, recent, ancient = now - 40 * DAY, now - 5 * DAY, now - 100 * DAY

    async def put(box: object, folder: str, size: int, date: float) -> None:
        target = await store.folder(box, folder, create=True)  # type: ignore[arg-type]
        await target.append(message(size), (), date)

    async def counts(box: object) -> dict[str, int]:
        return {name: len((await store.folder(box, name, create=True)).uids)  # type: ignore[arg-type]
                for name in ("INBOX", "Trash", "Junk", "Archive")}

    async def scenario() -> tuple[dict[str, object], dict[str, int], dict[str, int], dict[str, object]]:
        for box in (bob, ann):
            await put(box, "Trash", 1000, old)
            await put(box, "Trash", 300, recent)
            await put(box, "Junk", 2000, old)
            await put(box, "INBOX", 400, ancient)
            await put(box, "INBOX", 500, old)
        reporter = Reporter(ConfigHolder(config), store, tmp_path)
        await reporter.report(full=True)
        results = await clean(store, config, now=now)
        await reporter.report()
        return results, await counts(bob), await counts(ann), reports(tmp_path)[-1]

    results, bob_after, ann_after, report = asyncio.run(scenario())
    assert {address: (freed.messages, freed.bytes) for address, freed in results.items()} == {
        "bob@example.test": (2, 3000)}
    assert bob_after == {"INBOX": 1, "Trash": 1, "Junk": 0, "Archive": 1}
    assert ann_after == {"INBOX": 2, "Trash": 2, "Junk": 1, "Archive": 0}  # no policy on keep.test
    assert report["cleanup"] == [[bob.id, 2, 3000]]
    assert report["mailboxes"] == [[bob.id, store.usage(bob).bytes, 3]]


def wait_for_report(data_dir: Path, wanted: object) -> dict[str, object]:
    """The first report whose mailbox rows satisfy `wanted` (a predicate), within TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for report in reports(data_dir):
            if wanted(report["mailboxes"]):  # type: ignore[operator]
                return report
        time.sleep(0.2)
    raise AssertionError(f"no such report in {reports(data_dir)}")


def test_daemon_reports_usage_after_smtp_delivery(tmp_path: Path, dns: DnsServer) -> None:
    bob = mailbox("bob@example.test")
    config = node_config(mailboxes=[bob], kinds=("mx",), resolver=(dns.address,), usage_interval=1)
    with MaildProcess(config, tmp_path, kinds=("mx",)) as process:
        full = wait_for_report(process.data_dir, lambda rows: rows == [[bob.id, 0, 0]])
        assert full["full"] is True and full["node"] == "node1"
        with smtplib.SMTP("127.0.0.1", process.ports["mx"], timeout=TIMEOUT) as smtp:
            smtp.sendmail("s@remote.test", ["bob@example.test"], message(3000))
        delivered = wait_for_report(process.data_dir, lambda rows: bool(rows) and rows[0][2] == 1)
    assert delivered["full"] is False and delivered["mailboxes"][0][1] > 3000  # type: ignore[index]
    assert [row[0] for row in delivered["traffic"]] == ["example.test"]  # type: ignore[union-attr]


def test_cleanup_command_applies_the_bundle_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bob = mailbox("bob@example.test")
    config = node_config(mailboxes=[bob], domains=[replace(domain("example.test"), trash_days=7)])
    config = replace(config, server=replace(config.server, listeners=(Listener("mx", "127.0.0.1", 2525),)))
    write_bundle(tmp_path / "bundle", lambda: BundleContent(config.server, config.domains.values(),
                                                            config.mailboxes.values(), config.aliases.values()))
    store = Store(tmp_path / "data" / "mail")

    async def fill() -> None:
        trash = await store.folder(bob, "Trash", create=True)
        await trash.append(message(1200), (), time.time() - 8 * DAY)
        await trash.append(message(700), (), time.time() - 6 * DAY)
    asyncio.run(fill())
    arguments = ["--bundle", str(tmp_path / "bundle"), "--data", str(tmp_path / "data")]
    assert cleanup_main([*arguments, "nobody@example.test"]) == 1
    assert cleanup_main(arguments) == 0
    assert capsys.readouterr().out == "bob@example.test: 1 messages, 1200 bytes freed\n"
    assert reports(tmp_path / "data")[-1]["cleanup"] == [[bob.id, 1, 1200]]


def test_a_warning_that_could_not_be_delivered_is_tried_at_the_next_report(tmp_path: Path) -> None:
    bob = mailbox("bob@example.test", quota_bytes=10_000)
    store = Store(tmp_path / "mail")
    reporter = Reporter(ConfigHolder(node_config(mailboxes=[bob])), store, tmp_path)
    deliver = store.deliver

    async def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    async def scenario() -> int:
        await deliver(bob, message(8500))
        store.deliver = disk_full  # type: ignore[method-assign]
        with pytest.raises(OSError):
            await reporter.report()
        store.deliver = deliver  # type: ignore[method-assign]
        await reporter.report()  # the journal was kept: bob is reported and warned now
        return len((await store.folder(bob, "INBOX")).uids)

    assert asyncio.run(scenario()) == 2
    assert [row for report in reports(tmp_path) for row in report["warnings"]] == [[bob.id, 80]]


def test_quota_warning_is_written_in_the_nodes_language_with_english_below():
    box = mailbox("taro@example.jp", quota_bytes=1000)
    parsed = message_from_bytes(warning_message(box, 95, 960, "mx.example.jp", "ja"), policy=policy.default)
    assert parsed["Subject"] == "メールボックスの使用量が 95% に達しました"
    body = parsed.get_content()
    assert body.index("メールボックス taro@example.jp") < body.index("Your mailbox taro@example.jp uses 960 of 1,000")
