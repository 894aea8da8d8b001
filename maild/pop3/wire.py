"""Message bytes as POP3 multi-line responses: CRLF line ends, dot-stuffing, the final `.` line.

SMTP stores mail with CRLF exactly as received, so the common path is two C-speed scans and one
copy; bare LF (mail copied in from a Maildir written by another server) is converted first.
"""
from __future__ import annotations

import re

_BARE_LF = re.compile(rb"(?<!\r)\n")
TERMINATOR = b".\r\n"


def crlf(data: bytes) -> bytes:
    """`data` with every line end as CRLF."""
    if data.count(b"\n") == data.count(b"\r\n"):
        return data
    return _BARE_LF.sub(b"\r\n", data)


def multiline(body: bytes) -> bytes:
    """`body` (CRLF line ends) dot-stuffed and terminated, ready to follow a `+OK` line."""
    if body.startswith(b"."):
        body = b"." + body
    body = body.replace(b"\r\n.", b"\r\n..")
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + TERMINATOR


def top(message: bytes, lines: int) -> bytes:
    """The header block, the blank line and the first `lines` lines of the body (RFC 1939 TOP)."""
    if message.startswith(b"\r\n"):
        position = 2
    else:
        end = message.find(b"\r\n\r\n")
        if end < 0:
            return message  # headers only: there is no body to cut
        position = end + 4
    for _ in range(lines):
        line_end = message.find(b"\r\n", position)
        if line_end < 0:
            return message
        position = line_end + 2
    return message[:position]
