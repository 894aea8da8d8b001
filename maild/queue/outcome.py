"""What one delivery attempt did for one recipient, with RFC 3463 status codes as data."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Statuses the queue itself assigns (remote servers supply their own in their replies).
SUCCESS = "2.0.0"  # delivered (locally; remote servers give their own 2xx)
LOCAL_ERROR = "4.3.0"  # our side failed (e.g. the mail store): try again later
NO_ANSWER = "4.4.1"  # connection refused, timed out or dropped before the transaction
CONNECTION_LOST = "4.4.2"  # dropped during the transaction
DNS_TEMPORARY = "4.4.3"  # SERVFAIL, timeout, or no MX host with an address
NO_SUCH_DOMAIN = "5.1.2"  # NXDOMAIN, a malformed domain, or no MX and no address
MAILBOX_UNAVAILABLE = "5.2.1"  # a local mailbox disabled, or its domain not served
MAILBOX_FULL = "5.2.2"  # a local mailbox over its quota
NULL_MX = "5.1.10"  # RFC 7505: the domain accepts no mail
SMTPUTF8_REQUIRED = "5.6.7"  # the address needs SMTPUTF8 and the server does not offer it

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Outcome:
    """`status` is the enhanced code; `diagnostic` the remote reply (`smtp_reply`) or our reason."""

    status: str
    diagnostic: str
    remote_mta: str | None = None
    smtp_reply: bool = False

    @property
    def delivered(self) -> bool:
        return self.status.startswith("2")

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5")

    @classmethod
    def from_reply(cls, code: int, text: bytes | str, remote_mta: str) -> Outcome:
        """The outcome an SMTP reply means: its own enhanced code, else one derived from `code`."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        text = " ".join(text.split())  # multi-line replies on one line, control characters gone
        match = _ENHANCED.match(text)
        if match and match.group(1) == str(code)[0]:
            status = match.group(0)
        else:
            status = f"{str(code)[0]}.0.0" if str(code)[0] in "245" else LOCAL_ERROR
        return cls(status, f"{code} {text}".strip(), remote_mta, smtp_reply=True)
