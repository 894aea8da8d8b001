"""MIME structure of a stored message: part offsets, IMAP ENVELOPE and BODYSTRUCTURE.

Python's `email` package parses each header block (parameters, address lists, RFC 2231); the part
boundaries are located on the raw bytes so that sizes, line counts and `BODY[section]` slices are
exact and CRLF is never rewritten. ENVELOPE and BODYSTRUCTURE are computed once, when a message
is stored, and cached in the folder index as IMAP text.
"""
from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from email.policy import Compat32

MAX_DEPTH = 32  # deeper nesting is served as an opaque leaf: no recursion bombs
MAX_PARTS = 2000

_HEADER_END = re.compile(rb"\r?\n\r?\n")


class _RawHeaders(Compat32):
    """compat32 that hands back header values exactly as received.

    compat32 wraps a value holding 8-bit bytes (raw UTF-8 allowed by RFC 6532, or stray
    Shift_JIS) in a `Header` whose str() turns every such byte into U+FFFD. IMAP wants the
    raw value (RFC 3501: ENVELOPE strings are not decoded), so the surrogateescape'd text is
    kept and `nstring` turns it back into the original bytes.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_parser = BytesHeaderParser(policy=_RawHeaders())


@dataclass
class Part:
    """A MIME entity: [start, body_start) is its header block, [body_start, end) its body."""

    start: int
    body_start: int
    end: int
    headers: EmailMessage
    maintype: str
    subtype: str
    children: list[Part] = field(default_factory=list)  # multipart parts
    message: Part | None = None  # the encapsulated message of message/rfc822


def header_end(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Offset where the body starts (after the blank line), or `end` if there is no body."""
    end = len(data) if end is None else end
    if data.startswith(b"\r\n", start):
        return start + 2
    if data.startswith(b"\n", start):
        return start + 1
    match = _HEADER_END.search(data, start, end)
    return match.end() if match else end


def parse(data: bytes, start: int = 0, end: int | None = None, default: str = "text/plain",
          depth: int = 0, budget: list[int] | None = None) -> Part:
    """The MIME tree of data[start:end]."""
    end = len(data) if end is None else end
    budget = [MAX_PARTS] if budget is None else budget
    budget[0] -= 1
    body_start = header_end(data, start, end)
    headers = _parser.parsebytes(data[start:body_start])
    if headers.get("content-type") is None:
        maintype, subtype = default.split("/")
    else:
        maintype, subtype = headers.get_content_maintype(), headers.get_content_subtype()
    part = Part(start, body_start, end, headers, maintype, subtype)
    if depth >= MAX_DEPTH or budget[0] <= 0:
        return part
    if maintype == "multipart":
        boundary = headers.get_param("boundary")
        if isinstance(boundary, str) and boundary:
            child_default = "message/rfc822" if subtype == "digest" else "text/plain"
            for child_start, child_end in _split(data, body_start, end, boundary.encode("utf-8", "surrogateescape")):
                part.children.append(parse(data, child_start, child_end, child_default, depth + 1, budget))
                if budget[0] <= 0:
                    break
        if not part.children:  # malformed: serve as one empty text part rather than fail
            part.maintype, part.subtype = "text", "plain"
    elif (maintype, subtype) == ("message", "rfc822"):
        part.message = parse(data, body_start, end, "text/plain", depth + 1, budget)
    return part


def _split(data: bytes, start: int, end: int, boundary: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the parts between `--boundary` lines (the CRLF before a delimiter is its own)."""
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r?\n|$)", re.MULTILINE)
    ranges: list[tuple[int, int]] = []
    part_start: int | None = None
    position = start
    while True:
        match = delimiter.search(data, position, end)
        if match is None:
            break
        if part_start is not None:
            ranges.append((part_start, match.start()))
        if match.group(1):
            return ranges
        part_start = position = match.end()
    if part_start is not None:
        ranges.append((part_start, end))  # no closing delimiter: the last part runs to the end
    return ranges


# ---- IMAP text -------------------------------------------------------------------------------

def nstring(value: str | bytes | None) -> bytes:
    """An IMAP nstring: NIL, a quoted string, or a literal when quoting cannot carry it."""
    if value is None:
        return b"NIL"
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    if len(raw) < 1024 and all(0x20 <= b < 0x7F for b in raw):
        return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"{%d}\r\n%s" % (len(raw), raw)


def _header(headers: EmailMessage, name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return re.sub(r"\r?\n", "", value).strip()


def _addresses(headers: EmailMessage, name: str) -> bytes:
    values = headers.get_all(name)
    if not values:
        return b"NIL"
    items = []
    for display, address in email.utils.getaddresses([re.sub(r"\r?\n", "", v) for v in values]):
        if not address and not display:
            continue
        local, at, domain = address.rpartition("@")
        if not at:
            local, domain = address, ""
        items.append(b"(" + b" ".join([nstring(display or None), b"NIL", nstring(local or None),
                                       nstring(domain or None)]) + b")")
    return b"(" + b"".join(items) + b")" if items else b"NIL"


def envelope(headers: EmailMessage) -> bytes:
    """RFC 3501 ENVELOPE of a header block (sender and reply-to default to from)."""
    from_ = _addresses(headers, "from")
    sender = _addresses(headers, "sender")
    reply_to = _addresses(headers, "reply-to")
    return b"(" + b" ".join([
        nstring(_header(headers, "date")), nstring(_header(headers, "subject")), from_,
        from_ if sender == b"NIL" else sender, from_ if reply_to == b"NIL" else reply_to,
        _addresses(headers, "to"), _addresses(headers, "cc"), _addresses(headers, "bcc"),
        nstring(_header(headers, "in-reply-to")), nstring(_header(headers, "message-id")),
    ]) + b")"


def _params(pairs: list[tuple[str, str]] | None) -> bytes:
    if not pairs:
        return b"NIL"
    items = []
    for key, value in pairs:
        if isinstance(value, tuple):  # RFC 2231 value: (charset, language, text)
            value = email.utils.collapse_rfc2231_value(value)
        items.append(nstring(key.upper()) + b" " + nstring(value))
    return b"(" + b" ".join(items) + b")"


def _disposition(headers: EmailMessage) -> bytes:
    value = headers.get("content-disposition")
    if value is None:
        return b"NIL"
    params = headers.get_params(header="content-disposition") or []
    kind = params[0][0] if params else value.split(";")[0].strip()
    return b"(" + nstring(kind.upper()) + b" " + _params(params[1:]) + b")"


def _language(headers: EmailMessage) -> bytes:
    value = _header(headers, "content-language")
    if not value:
        return b"NIL"
    return b"(" + b" ".join(nstring(tag.strip()) for tag in value.split(",") if tag.strip()) + b")"


def body_structure(data: bytes, part: Part, extended: bool = True) -> bytes:
    """BODYSTRUCTURE (extended) or BODY (basic) of a part tree."""
    headers = part.headers
    if part.children:
        inner = b"".join(body_structure(data, child, extended) for child in part.children)
        fields = [inner + b" " + nstring(part.subtype.upper())]
        if extended:
            content_params = (headers.get_params() or [])[1:]
            fields += [_params(content_params), _disposition(headers), _language(headers),
                       nstring(_header(headers, "content-location"))]
        return b"(" + b" ".join(fields) + b")"
    content_params = (headers.get_params() or [])[1:] if headers.get("content-type") else []
    if part.maintype == "text" and not content_params:
        content_params = [("charset", "us-ascii")]
    encoding = (_header(headers, "content-transfer-encoding") or "7BIT").upper()
    size = part.end - part.body_start
    fields = [nstring(part.maintype.upper()), nstring(part.subtype.upper()), _params(content_params),
              nstring(_header(headers, "content-id")), nstring(_header(headers, "content-description")),
              nstring(encoding), b"%d" % size]
    body = data[part.body_start:part.end]
    lines = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
    if part.message is not None:
        fields += [envelope(part.message.headers), body_structure(data, part.message, extended), b"%d" % lines]
    elif part.maintype == "text":
        fields.append(b"%d" % lines)
    if extended:
        fields += [nstring(_header(headers, "content-md5")), _disposition(headers), _language(headers),
                   nstring(_header(headers, "content-location"))]
    return b"(" + b" ".join(fields) + b")"


def summarize(data: bytes) -> tuple[str, str]:
    """ENVELOPE and BODYSTRUCTURE as text for the index (bytes kept via surrogateescape)."""
    tree = parse(data)
    return (envelope(tree.headers).decode("utf-8", "surrogateescape"),
            body_structure(data, tree).decode("utf-8", "surrogateescape"))
