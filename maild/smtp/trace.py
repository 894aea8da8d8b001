"""Trace header fields maild prepends to a message: Received (RFC 5321 4.4, RFC 3848 protocols)."""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from functools import lru_cache

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def header_safe(text: str) -> str:
    """`text` with control characters (header injection) and undecodable bytes replaced."""
    return _UNSAFE.sub("?", text)


def new_queue_id() -> str:
    return secrets.token_hex(6).upper()


@dataclass(frozen=True)
class Hop:
    """How a message reached us: what the Received field records."""

    helo: str
    ip: str
    esmtp: bool
    tls: tuple[str, str] | None  # (version, cipher) when the session was encrypted
    authenticated: bool


def protocol(hop: Hop) -> str:
    """RFC 3848 `with` keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA."""
    if not hop.esmtp:
        return "SMTP"
    return "ESMTP" + ("S" if hop.tls else "") + ("A" if hop.authenticated else "")


@lru_cache(maxsize=2)
def _stamp(second: int) -> str:
    """The RFC 5322 date of a second (formatted once per second, not once per message)."""
    return format_datetime(datetime.fromtimestamp(second, timezone.utc))


def return_path(sender: str) -> bytes:
    """The `Return-Path:` field final delivery puts on top (RFC 5321 4.4): the envelope sender,
    `<>` for a bounce, so mail clients and filters can see where replies to errors go."""
    return f"Return-Path: <{header_safe(sender)}>\r\n".encode("utf-8")


def received(hop: Hop, by: str, queue_id: str, recipient: str | None, when: datetime | None = None) -> bytes:
    """The `Received:` field (CRLF-terminated); names the recipient only when there is one."""
    stamp = format_datetime(when) if when else _stamp(int(time.time()))
    lines = [f"Received: from {header_safe(hop.helo)} ([{hop.ip}])"]
    if hop.tls:
        lines.append(f"(using {hop.tls[0]} with cipher {hop.tls[1]})")
    lines.append(f"by {by} (Tegami maild) with {protocol(hop)} id {queue_id}")
    tail = f"for <{header_safe(recipient)}>; {stamp}" if recipient else stamp
    if not recipient:
        lines[-1] += ";"
    lines.append(tail)
    return ("\r\n\t".join(lines) + "\r\n").encode("utf-8")
