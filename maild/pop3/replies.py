"""POP3 replies as data, with RFC 2449 / RFC 3206 response codes where a client can act on them.

`[IN-USE]` tells a client to retry later without asking for a new password, `[AUTH]` that the
credentials are wrong, `[SYS/TEMP]` a transient server problem.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    ok: bool
    text: str
    code: str | None = None

    def line(self, **details: object) -> bytes:
        """The status line with its CRLF, e.g. `-ERR [IN-USE] mailbox is locked...`."""
        status = "+OK" if self.ok else "-ERR"
        code = f" [{self.code}]" if self.code else ""
        return f"{status}{code} {self.text.format(**details)}\r\n".encode()


GREETING = Reply(True, "Tegami POP3 server ready{timestamp}")
CAPABILITIES = Reply(True, "capability list follows")
BEGIN_TLS = Reply(True, "begin TLS negotiation")
USER_OK = Reply(True, "send PASS")
LOGGED_IN = Reply(True, "logged in, {count} messages ({octets} octets)")
STAT = Reply(True, "{count} {octets}")
SCAN_LISTING = Reply(True, "{number} {detail}")
LISTING = Reply(True, "listing follows")
MESSAGE = Reply(True, "{octets} octets")
DELETED = Reply(True, "message {number} deleted")
RESET = Reply(True, "maildrop has {count} messages ({octets} octets)")
NOOP = Reply(True, "nothing happens")
BYE = Reply(True, "bye")
BYE_UPDATED = Reply(True, "bye, {deleted} messages deleted")

PLAINTEXT_REFUSED = Reply(False, "plaintext authentication is disabled before STLS", "AUTH")
AUTH_FAILED = Reply(False, "authentication failed", "AUTH")
AUTH_THROTTLED = Reply(False, "too many failed logins, try again later", "SYS/TEMP")
AUTH_CANCELLED = Reply(False, "authentication cancelled")
AUTH_MALFORMED = Reply(False, "cannot decode the AUTH response")
AUTH_MECHANISM = Reply(False, "unsupported authentication mechanism")
APOP_UNAVAILABLE = Reply(False, "APOP is not available on this server")
IN_USE = Reply(False, "mailbox is in use by another POP3 session", "IN-USE")
USER_FIRST = Reply(False, "send USER first")
TLS_ACTIVE = Reply(False, "TLS is already active")
STLS_PIPELINED = Reply(False, "STLS must be the last command in a pipeline")
NO_SUCH_MESSAGE = Reply(False, "no such message")
MESSAGE_GONE = Reply(False, "message was removed by another session")
UNKNOWN_COMMAND = Reply(False, "unknown command")
WRONG_STATE = Reply(False, "command not valid in this state")
BAD_ARGUMENTS = Reply(False, "invalid arguments")
BAD_ENCODING = Reply(False, "commands must be UTF-8")
LINE_TOO_LONG = Reply(False, "line too long, closing connection")
TOO_MANY_ERRORS = Reply(False, "too many invalid commands, closing connection")
IDLE_TIMEOUT = Reply(False, "autologout: idle for too long")
MAILBOX_GONE = Reply(False, "this mailbox is no longer available, nothing was changed", "SYS/PERM")
UPDATE_FAILED = Reply(False, "could not apply the changes, nothing was lost, try again", "SYS/TEMP")
TEMPORARY_FAILURE = Reply(False, "temporary server error, try again later", "SYS/TEMP")
