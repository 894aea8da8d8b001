"""Local delivery's forwarding and vacation replies (RFC 3834), against a real Maildir store."""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import smtplib
from dataclasses import replace
from pathlib import Path

import pytest

from maild import local_delivery
from maild.bundle import ConfigHolder
from maild.config import Alias, Mailbox, Vacation
from maild.runtime import Runtime
from maild.store import Store
from maild.vacation import VacationMemory, answer, headers_of
from tests.maild.support import RecordingQueue, insecure_context, mailbox, node_config, running_daemon, stored_messages

AWAY = Vacation(subject="Away until Monday", body="I am out of the office.\nBack on the 10th.", interval_days=7)
BOX = replace(mailbox("taro@example.jp"), vacation=AWAY)


def message(sender: str = "hanako@elsewhere.test", to: str = "taro@example.jp", extra: str = "",
            message_id: str = "<m1@elsewhere.test>") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: lunch?\r\nMessage-ID: {message_id}\r\n{extra}"
            f"\r\nHello\r\n").encode()


class Delivery:
    """A runtime with a real store and a recording queue, delivering one message at a time."""

    def __init__(self, tmp_path: Path) -> None:
        self.queue = RecordingQueue()
        self.store = Store(tmp_path / "mail")
        hosted = ConfigHolder(node_config(mailboxes=[BOX, mailbox("jiro@example.jp")], aliases=[
            Alias("team@example.jp", ("jiro@example.jp", "pal@elsewhere.test")), Alias("@example.jp", ("jiro@example.jp",))]))
        self.runtime = Runtime(hosted, self.store, self.queue, tmp_path)  # type: ignore[arg-type]

    def deliver(self, box: Mailbox, data: bytes, sender: str = "hanako@elsewhere.test") -> None:
        asyncio.run(local_delivery.deliver(self.runtime, sender, box, data))

    def stored(self, box: Mailbox) -> list[bytes]:
        """The stored messages without the Return-Path line final delivery puts on top."""
        messages = stored_messages(self.store.maildir(box))
        assert all(data.startswith(b"Return-Path: <") for data in messages)
        return [data.split(b"\r\n", 1)[1] for data in messages]


@pytest.fixture
def delivery(tmp_path: Path) -> Delivery:
    return Delivery(tmp_path)


def test_vacation_reply_threads_to_the_original_and_is_marked_auto_replied(delivery: Delivery) -> None:
    delivery.deliver(BOX, message())
    assert len(delivery.stored(BOX)) == 1
    [(sender, recipients, data)] = delivery.queue.queued
    assert (sender, recipients) == ("", ["hanako@elsewhere.test"])  # null sender: RFC 3834 3.3
    reply = email.message_from_bytes(data)
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == "<m1@elsewhere.test>"
    assert reply["References"] == "<m1@elsewhere.test>"
    assert (reply["From"], reply["To"], reply["Subject"]) == ("taro@example.jp", "hanako@elsewhere.test", AWAY.subject)
    assert "Back on the 10th." in reply.get_payload(decode=True).decode()
    assert b"\r\n\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_vacation_replies_once_per_sender_per_interval(delivery: Delivery, tmp_path: Path) -> None:
    for n in range(3):
        delivery.deliver(BOX, message(message_id=f"<m{n}@elsewhere.test>"))
    delivery.deliver(BOX, message("jiro@elsewhere.test"), sender="jiro@elsewhere.test")
    assert [recipients for _, recipients, _ in delivery.queue.queued] == [["hanako@elsewhere.test"], ["jiro@elsewhere.test"]]
    assert len(delivery.stored(BOX)) == 4
    memory = VacationMemory(tmp_path / "vacation")
    eight_days_on = dt.datetime.now().timestamp() + 8 * 86400
    assert memory.claim(BOX, "hanako@elsewhere.test", now=eight_days_on)  # the interval has passed
    assert not memory.claim(BOX, "hanako@elsewhere.test", now=eight_days_on)


def test_a_new_vacation_message_answers_earlier_senders_again(delivery: Delivery) -> None:
    delivery.deliver(BOX, message())
    delivery.deliver(replace(BOX, vacation=replace(AWAY, subject="不在のお知らせ", body="月曜日に戻ります。")), message())
    replies = [email.message_from_bytes(data, policy=email.policy.default) for _, _, data in delivery.queue.queued]
    assert [reply["Subject"] for reply in replies] == ["Away until Monday", "不在のお知らせ"]
    assert replies[1].get_content().strip() == "月曜日に戻ります。"
    assert all(byte < 128 for byte in delivery.queue.queued[1][2])  # encoded for any relay (RFC 2047, base64)


@pytest.mark.parametrize("sender, extra", [
    ("", ""),  # a bounce: null envelope sender
    ("MAILER-DAEMON@elsewhere.test", ""),
    ("owner-tea@lists.test", ""),
    ("hanako@elsewhere.test", "List-Id: <tea.lists.test>\r\n"),
    ("hanako@elsewhere.test", "List-Unsubscribe: <mailto:leave@lists.test>\r\n"),
    ("hanako@elsewhere.test", "Precedence: bulk\r\n"),
    ("hanako@elsewhere.test", "Precedence: junk\r\n"),
    ("hanako@elsewhere.test", "Auto-Submitted: auto-replied\r\n"),
    ("hanako@elsewhere.test", "Auto-Submitted: auto-generated; owner-email=x@y.test\r\n"),
    ("hanako@elsewhere.test", "X-Auto-Response-Suppress: DR, OOF, AutoReply\r\n"),
    ("taro@example.jp", ""),  # the mailbox itself
], ids=["null-sender", "mailer-daemon", "list-owner", "list-id", "list-unsubscribe", "bulk", "junk",
        "auto-replied", "auto-generated", "suppress-oof", "self"])
def test_no_vacation_reply_to_lists_bounces_or_automatic_mail(delivery: Delivery, sender: str, extra: str) -> None:
    delivery.deliver(BOX, message(sender or "x@elsewhere.test", extra=extra), sender=sender)
    assert delivery.queue.queued == []
    assert len(delivery.stored(BOX)) == 1


def test_vacation_replies_only_when_the_mailbox_is_in_to_or_cc(delivery: Delivery) -> None:
    delivery.deliver(BOX, message(to="everyone@example.jp"))  # reached taro through an alias or Bcc
    assert delivery.queue.queued == []
    delivery.deliver(BOX, message(to="a@x.test", extra="Cc: Taro <TARO@example.jp>\r\n"))
    assert len(delivery.queue.queued) == 1


def test_vacation_outside_its_dates_sends_nothing(tmp_path: Path) -> None:
    memory = VacationMemory(tmp_path)
    box = replace(BOX, vacation=replace(AWAY, start="2030-08-01", end="2030-08-15"))
    headers = headers_of(message())
    assert answer(memory, box, "hanako@elsewhere.test", headers, today=dt.date(2030, 7, 31)) is None
    assert answer(memory, box, "hanako@elsewhere.test", headers, today=dt.date(2030, 8, 16)) is None
    assert answer(memory, box, "hanako@elsewhere.test", headers, today=dt.date(2030, 8, 15)) is not None


def test_hostile_headers_never_break_delivery(delivery: Delivery) -> None:
    data = b"To: \xff\xfe taro@example.jp\r\nAuto-Submitted: \x00\r\nFrom: <<<\r\n\r\nbody\r\n"
    delivery.deliver(BOX, data)
    assert delivery.stored(BOX) == [data]


def test_forwarding_with_a_kept_copy_stores_and_queues(delivery: Delivery) -> None:
    box = replace(mailbox("taro@example.jp"), forward_to=("taro@home.test", "boss@elsewhere.test"))
    delivery.deliver(box, message())
    assert delivery.stored(box) == [message()]
    [(sender, recipients, data)] = delivery.queue.queued
    assert recipients == ["taro@home.test", "boss@elsewhere.test"]
    assert data == b"Delivered-To: taro@example.jp\r\n" + message()
    # Rewritten into the forwarding domain (SRS), so the receiver's SPF check passes.
    assert sender.startswith("SRS0=") and sender.endswith("@example.jp")
    assert delivery.runtime.srs.reverse(sender) == "hanako@elsewhere.test"


def test_forwarding_keeps_null_hosted_and_quoted_senders(delivery: Delivery) -> None:
    box = replace(mailbox("taro@example.jp"), forward_to=("taro@home.test",), forward_keep_copy=False)
    for sender in ("", "jiro@example.jp", '"hanako yamada"@elsewhere.test'):
        delivery.deliver(box, message(), sender=sender)
    assert [sender for sender, _, _ in delivery.queue.queued] == ["", "jiro@example.jp", '"hanako yamada"@elsewhere.test']


def test_only_copies_for_other_servers_get_a_return_address(delivery: Delivery) -> None:
    box = replace(mailbox("taro@example.jp"), forward_to=("jiro@example.jp", "taro@home.test"), forward_keep_copy=False)
    delivery.deliver(box, message())
    queued = {tuple(recipients): sender for sender, recipients, _ in delivery.queue.queued}
    assert queued[("jiro@example.jp",)] == "hanako@elsewhere.test"  # stays here: no SPF check to pass
    assert delivery.runtime.srs.reverse(queued[("taro@home.test",)]) == "hanako@elsewhere.test"


def test_mail_another_forwarder_rewrote_is_forwarded_as_srs1(delivery: Delivery) -> None:
    box = replace(mailbox("taro@example.jp"), forward_to=("taro@home.test",), forward_keep_copy=False)
    delivery.deliver(box, message(), sender="SRS0=AB12CD=JR=elsewhere.test=hanako@first.test")
    [(sender, _, _)] = delivery.queue.queued
    assert sender.startswith("SRS1=") and sender.endswith("=first.test==AB12CD=JR=elsewhere.test=hanako@example.jp")
    # Its bounce goes back to the first forwarder, which reverses its own part.
    assert delivery.runtime.srs.reverse(sender) == "SRS0=AB12CD=JR=elsewhere.test=hanako@first.test"


def test_forwarding_without_a_copy_leaves_the_mailbox_empty(delivery: Delivery) -> None:
    box = replace(mailbox("taro@example.jp"), forward_to=("taro@home.test",), forward_keep_copy=False)
    delivery.deliver(box, message())
    assert delivery.stored(box) == []
    assert [recipients for _, recipients, _ in delivery.queue.queued] == [["taro@home.test"]]


def test_forwarding_to_an_alias_here_reaches_its_mailboxes_and_beyond(delivery: Delivery) -> None:
    box = replace(mailbox("taro@example.jp"), forward_to=("team@example.jp", "Anyone@Example.JP"), forward_keep_copy=False)
    delivery.deliver(box, message())
    queued = {tuple(recipients): sender for sender, recipients, _ in delivery.queue.queued}
    # The alias and the catch-all resolve to jiro (once); the alias's outside member gets a return address.
    assert queued[("jiro@example.jp",)] == "hanako@elsewhere.test"
    assert delivery.runtime.srs.reverse(queued[("pal@elsewhere.test",)]) == "hanako@elsewhere.test"
    assert len(queued) == 2


def test_forwarded_mail_that_comes_back_is_stored_not_forwarded_again(delivery: Delivery) -> None:
    box = replace(mailbox("taro@example.jp"), forward_to=("taro@home.test",), forward_keep_copy=False)
    looped = b"Delivered-To: taro@example.jp\r\n" + message()
    delivery.deliver(box, looped)
    assert delivery.stored(box) == [looped]
    assert delivery.queue.queued == []


def test_mail_through_submission_is_forwarded_and_answered_by_the_running_daemon(tmp_path: Path) -> None:
    sender = mailbox("hanako@example.jp", "hanako-secret")
    taro = replace(mailbox("taro@example.jp"), forward_to=("taro@home.test",), forward_keep_copy=False, vacation=AWAY)
    with running_daemon(node_config(mailboxes=[sender, taro], kinds=("submissions",)), tmp_path) as maild:
        with smtplib.SMTP_SSL("127.0.0.1", maild.port("submissions"), timeout=20, context=insecure_context()) as smtp:
            smtp.login("hanako@example.jp", "hanako-secret")
            smtp.sendmail("hanako@example.jp", ["taro@example.jp"], message("hanako@example.jp"))
        assert stored_messages(maild.maildir("taro@example.jp")) == []
    queued = {tuple(recipients): sender for sender, recipients, _ in maild.queue.queued}
    assert queued == {("taro@home.test",): "hanako@example.jp", ("hanako@example.jp",): ""}


def test_final_delivery_records_the_envelope_sender_on_top(delivery: Delivery) -> None:
    delivery.deliver(BOX, message(), sender="")
    delivery.deliver(BOX, message(), sender="hanako@elsewhere.test")
    tops = sorted(data.split(b"\r\n", 1)[0] for data in stored_messages(delivery.store.maildir(BOX)))
    assert tops == [b"Return-Path: <>", b"Return-Path: <hanako@elsewhere.test>"]
