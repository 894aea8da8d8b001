"""SMTP replies with RFC 3463 enhanced status codes, as data.

Every reply maild sends is one of the `Reply` constants below, formatted with its details
(`NO_SUCH_USER.format(address=...)`). `with_enhanced_code` adds a code to aiosmtpd's own replies,
which lack one, so a client that was offered ENHANCEDSTATUSCODES always gets one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Reply:
    code: int
    enhanced: str
    text: str

    def format(self, **details: object) -> str:
        """The reply line, e.g. `550 5.1.1 <a@b>: no such user here`."""
        return f"{self.code} {self.enhanced} {self.text.format(**details)}"

    def __str__(self) -> str:
        return self.format()


# Success
OK = Reply(250, "2.0.0", "OK")
SENDER_OK = Reply(250, "2.1.0", "<{address}>: sender OK")
RECIPIENT_OK = Reply(250, "2.1.5", "<{address}>: recipient OK")
ACCEPTED = Reply(250, "2.0.0", "OK: message accepted")
AUTH_OK = Reply(235, "2.7.0", "Authentication successful")

# Addressing and policy
NO_SUCH_USER = Reply(550, "5.1.1", "<{address}>: no such user here")
BAD_RETURN_ADDRESS = Reply(550, "5.1.1", "<{address}>: invalid or expired forwarding return address")
BOUNCES_ONLY = Reply(550, "5.7.1", "<{address}>: a forwarding return address takes only bounces (null sender)")
BAD_ADDRESS = Reply(553, "5.1.3", "<{address}>: malformed address")
MAILBOX_DISABLED = Reply(550, "5.2.1", "<{address}>: mailbox disabled")
RELAY_DENIED = Reply(554, "5.7.1", "<{address}>: relay access denied")
SENDER_NOT_OWNED = Reply(553, "5.7.1", "<{address}>: sender address not owned by the authenticated user")
SENDER_REQUIRED = Reply(553, "5.7.1", "an authenticated user must give a sender address")
MESSAGE_TOO_BIG = Reply(552, "5.3.4", "message size exceeds the limit of {limit} bytes")
OVER_QUOTA = Reply(552, "5.2.2", "<{address}>: mailbox is full")
POOL_FULL = Reply(452, "4.2.2", "<{address}>: the account's storage is full, try again later")
RATE_LIMITED = Reply(451, "4.7.1", "sending limit of {limit} messages per hour reached, try again later")
TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "too many recipients")
LOOP_DETECTED = Reply(554, "5.4.6", "mail forwarding loop detected")

# Authentication
AUTH_REQUIRED = Reply(530, "5.7.0", "authentication required")
AUTH_INVALID = Reply(535, "5.7.8", "authentication credentials invalid")
AUTH_THROTTLED = Reply(454, "4.7.0", "too many failed authentications, try again later")
AUTH_UNAVAILABLE = Reply(502, "5.5.1", "AUTH is not available on this port, use submission")
AUTH_MALFORMED = Reply(501, "5.5.2", "cannot decode the AUTH response")

# Failures
TEMPORARY_FAILURE = Reply(451, "4.3.0", "temporary server error, try again later")

# Enhanced codes for aiosmtpd's own replies, by text first and by reply code otherwise.
_BY_TEXT = {
    "552 Error: message size exceeds fixed maximum message size": "5.3.4",
    "552 Error: Too much mail data": "5.3.4",
    "500 Line too long (see RFC5321 4.5.3.1.6)": "5.5.6",
    "530 Must issue a STARTTLS command first": "5.7.0",
}
_BY_CODE = {
    "221": "2.0.0", "250": "2.0.0", "252": "2.0.0",
    "421": "4.3.0", "451": "4.3.0", "454": "4.7.0",
    "500": "5.5.2", "501": "5.5.4", "502": "5.5.1", "503": "5.5.1", "504": "5.5.4",
    "530": "5.7.0", "538": "5.7.11", "550": "5.0.0", "552": "5.3.4", "553": "5.1.3", "554": "5.0.0",
    "555": "5.5.4",
}
_HAS_ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(\s|$)")


@lru_cache(maxsize=1024)
def with_enhanced_code(line: str) -> str:
    """`line` with an enhanced status code inserted when it is a final reply that lacks one."""
    if _HAS_ENHANCED.match(line) or len(line) < 4 or line[3] != " ":
        return line
    code = line[:3]
    enhanced = _BY_TEXT.get(line) or _BY_CODE.get(code)
    if enhanced is None:
        return line
    return f"{code} {enhanced} {line[4:]}"
