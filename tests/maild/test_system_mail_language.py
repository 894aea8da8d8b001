"""Mail maild writes itself is in the node's language, with English below it."""
from __future__ import annotations

import time
from email import message_from_bytes, policy

from maild.queue.dsn import Notice, build_report
from maild.queue.spool import Envelope, Recipient

ORIGINAL = b"From: taro@example.jp\r\nTo: someone@elsewhere.example\r\nSubject: hello\r\n\r\nbody\r\n"


def report(language: str):  # type: ignore[no-untyped-def]
    envelope = Envelope(id="q1", sender="taro@example.jp", recipients=[Recipient("someone@elsewhere.example")],
                        arrival=time.time(), next_attempt=time.time())
    data = build_report(envelope, envelope.recipients, ORIGINAL, hostname="mx.example.jp",
                        notice=Notice.EXPIRED, lifetime=5 * 86400, language=language)
    return message_from_bytes(data, policy=policy.default)


def test_bounce_human_part_is_japanese_then_english():
    parsed = report("ja")
    assert parsed["Subject"] == "配送できなかったメールの返送（配送期限切れ）"
    text = next(part for part in parsed.walk() if part.get_content_type() == "text/plain").get_content()
    assert text.index("5日にわたって配送に失敗") < text.index("Delivery kept failing for 5 days")
    assert "<someone@elsewhere.example>: 配送に失敗しました" in text
    assert parsed.get_content_type() == "multipart/report"


def test_english_node_writes_english_only():
    parsed = report("en")
    text = next(part for part in parsed.walk() if part.get_content_type() == "text/plain").get_content()
    assert parsed["Subject"].startswith("Undelivered Mail Returned to Sender") and "配送" not in text
