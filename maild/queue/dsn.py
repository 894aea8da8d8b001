"""RFC 3464 delivery status notifications: bounces, and warnings about delayed mail.

A report is `multipart/report; report-type=delivery-status` (RFC 6522) with three parts: a
short explanation for people, the machine-readable `message/delivery-status` (one per-message
block, then one block per recipient concerned), and the original message's header as
`text/rfc822-headers` (never its body: reports must not carry the content back in full).
It is sent from the null sender `<>`, so a report is never bounced.
"""
from __future__ import annotations

import email.policy
import enum
import gettext
import time
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

from maild.i18n import N_, bilingual, translations
from maild.queue.outcome import Outcome
from maild.queue.spool import FAILED, Envelope, Recipient

_FIELD_LIMIT = 900  # keep each DSN field well inside SMTP's line limit after folding


class Notice(enum.Enum):
    """Why the sender hears from us; the value is the report's Subject."""

    REFUSED = N_("Undelivered Mail Returned to Sender")  # a permanent (5xx) failure
    EXPIRED = N_("Undelivered Mail Returned to Sender (delivery time expired)")
    DELAYED = N_("Delayed Mail (still being retried)")  # a warning: delivery goes on


def _ascii(text: str) -> str:
    """Remote text made safe for a header field: ASCII, one line, bounded."""
    return " ".join(text.encode("ascii", "replace").decode().split())[:_FIELD_LIMIT]


def _address_type(address: str) -> str:
    """RFC 3464 address type: `rfc822`, or `utf-8` for an internationalised address (RFC 6533)."""
    return f"rfc822; {address}" if address.isascii() else f"utf-8; {_ascii(address)}"


def original_header(data: bytes) -> bytes:
    """The header section of a message: everything before the first empty line."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, _ = data.partition(separator)
        if found:
            return head + separator[: len(separator) // 2]
    return data


def _per_message(envelope: Envelope, reporting_mta: str) -> Message:
    block = Message()
    block["Reporting-MTA"] = f"dns; {reporting_mta}"
    block["X-Tegami-Queue-ID"] = envelope.id
    block["Arrival-Date"] = formatdate(envelope.arrival, usegmt=True)
    return block


def _per_recipient(recipient: Recipient, envelope: Envelope, notice: Notice, lifetime: int) -> Message:
    outcome = recipient.outcome
    block = Message()
    block["Final-Recipient"] = _address_type(recipient.address)
    block["Action"] = "delayed" if notice is Notice.DELAYED else "failed"
    block["Status"] = outcome.status if outcome else "5.0.0"
    if outcome and outcome.remote_mta:
        block["Remote-MTA"] = f"dns; {_ascii(outcome.remote_mta)}"
    if outcome:
        kind = "smtp" if outcome.smtp_reply else "X-Tegami"
        block["Diagnostic-Code"] = f"{kind}; {_ascii(outcome.diagnostic)}"
    if envelope.last_attempt is not None:
        block["Last-Attempt-Date"] = formatdate(envelope.last_attempt, usegmt=True)
    if notice is Notice.DELAYED:
        block["Will-Retry-Until"] = formatdate(envelope.arrival + lifetime, usegmt=True)
    return block


def _duration(seconds: float, t: gettext.NullTranslations) -> str:
    for unit, size in ((N_("%(n)s days"), 86400), (N_("%(n)s hours"), 3600), (N_("%(n)s minutes"), 60)):
        if seconds >= size:
            return t.gettext(unit) % {"n": f"{seconds / size:.3g}"}
    return t.gettext(N_("%(n)s seconds")) % {"n": f"{seconds:.3g}"}


def _explanation(hostname: str, envelope: Envelope, recipients: list[Recipient], notice: Notice,
                 lifetime: int, t: gettext.NullTranslations) -> str:
    """The human part of the report, in the language of `t`."""
    if notice is Notice.DELAYED:
        summary = [
            t.gettext("Your message has not been delivered yet to the recipients below."),
            t.gettext("The mail system keeps trying until %(date)s; there is no need to send it again.")
            % {"date": formatdate(envelope.arrival + lifetime, usegmt=True)},
        ]
    else:
        reason = {
            Notice.REFUSED: t.gettext("The receiving system refused it permanently."),
            Notice.EXPIRED: t.gettext("Delivery kept failing for %(duration)s, so the mail system gave up.")
            % {"duration": _duration(lifetime, t)},
        }[notice]
        summary = [t.gettext("Your message could not be delivered to one or more recipients."), reason]
    lines = [
        t.gettext("This is the mail system at host %(host)s.") % {"host": hostname},
        "",
        *summary,
        t.gettext("The details follow; the header of your message is attached."),
        "",
    ]
    for recipient in recipients:
        # Remote text is made safe; our own may be in the node's language.
        diagnostic = _ascii(recipient.outcome.diagnostic) if recipient.outcome else t.gettext("delivery failed")
        lines.append(f"<{_ascii(recipient.address)}>: {diagnostic}")
    return "\n".join(lines) + "\n"


def refusal_report(queue_id: str, sender: str, refused: list[tuple[str, str]], original: bytes, *,
                   hostname: str, language: str) -> bytes:
    """A bounce for recipients that refused a message others took, each with its SMTP reply."""
    now = time.time()
    recipients = [Recipient(address, FAILED, Outcome(reply[4:].split(" ", 1)[0], reply, smtp_reply=True))
                  for address, reply in refused]
    envelope = Envelope(queue_id, sender, recipients, arrival=now, next_attempt=now, size=len(original))
    return build_report(envelope, recipients, original, hostname=hostname, notice=Notice.REFUSED, lifetime=0,
                        language=language)


def build_report(envelope: Envelope, recipients: list[Recipient], original: bytes, *, hostname: str,
                 notice: Notice, lifetime: int, language: str = "en", to: str | None = None) -> bytes:
    """The DSN (message bytes, CRLF) telling the sender (`to`, default `envelope.sender`) about
    `recipients`; its human part in `language` with English below."""
    to = envelope.sender if to is None else to
    policy = email.policy.SMTP if to.isascii() else email.policy.SMTPUTF8
    report = MIMEMultipart("report", report_type="delivery-status", policy=policy)
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{hostname}>"
    report["To"] = to
    report["Subject"] = translations(language).gettext(notice.value)
    report["Date"] = formatdate(usegmt=True)
    report["Message-ID"] = make_msgid("dsn", domain=hostname)
    report["Auto-Submitted"] = "auto-replied"

    text = bilingual(language, lambda t: _explanation(hostname, envelope, recipients, notice, lifetime, t))
    report.attach(MIMEText(text, "plain", "us-ascii" if text.isascii() else "utf-8"))

    status = MIMENonMultipart("message", "delivery-status")
    status.set_payload([
        _per_message(envelope, hostname),
        *(_per_recipient(recipient, envelope, notice, lifetime) for recipient in recipients),
    ])
    report.attach(status)

    header = original_header(original)
    headers = MIMENonMultipart("text", "rfc822-headers")
    headers.set_payload(header.decode("ascii" if header.isascii() else "utf-8", "replace"))
    if not header.isascii():
        headers.set_charset("utf-8")  # base64: 8-bit header bytes travel 7-bit safe
    report.attach(headers)
    return report.as_bytes(policy=policy)
