"""SEARCH (RFC 3501 6.4.4): every search key, CHARSET UTF-8, and MODSEQ (CONDSTORE).

Keys on flags, sizes, dates, UIDs and sequence numbers use the index alone; header keys read only
the header block of each message; BODY and TEXT decode the MIME text parts with Python's `email`
package, so quoted-printable, base64 and charsets are searched as the user reads them.
"""
from __future__ import annotations

import datetime
import email
import email.header
import email.policy
import email.utils
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from maild.imap import sequence
from maild.imap.parser import Atom, BadCommand, Token, astring
from maild.store import Message

CHARSETS = ("UTF-8", "US-ASCII")
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True), "DELETED": ("\\Deleted", True), "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True), "SEEN": ("\\Seen", True), "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False), "UNDRAFT": ("\\Draft", False), "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_ADDRESS_KEYS = {"BCC", "CC", "FROM", "SUBJECT", "TO"}
NEEDS_NOTHING, NEEDS_HEADER, NEEDS_ALL = 0, 1, 2
MAX_DEPTH = 64  # NOT/OR/parentheses: a hostile line of 16,000 NOTs must not exhaust the stack


class BadCharset(Exception):
    """SEARCH CHARSET other than UTF-8/US-ASCII: NO [BADCHARSET (UTF-8 US-ASCII)]."""


@dataclass
class Candidate:
    """What a key sees of one message."""

    sequence: int
    message: Message
    recent: bool
    data: bytes | None = None
    _parsed: email.message.Message | None = None

    def parsed(self) -> email.message.Message:
        if self._parsed is None:
            assert self.data is not None
            self._parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        return self._parsed


Predicate = Callable[[Candidate], bool]


@dataclass
class Criteria:
    matches: Predicate
    needs: int  # NEEDS_NOTHING, NEEDS_HEADER or NEEDS_ALL
    uses_modseq: bool


def _date(token: Token) -> datetime.date:
    text = astring(token)
    try:
        day, month, year = text.split("-")
        return datetime.date(int(year), _MONTHS[month.upper()], int(day))
    except (ValueError, KeyError) as error:
        raise BadCommand("invalid date (expected e.g. 1-Feb-2024)") from error


def _internal_day(candidate: Candidate) -> datetime.date:
    return datetime.date(*time.localtime(candidate.message.internal_date)[:3])


def field_pattern(name: str) -> re.Pattern[bytes]:
    """Finds the (folded) values of one header field in a header block."""
    return re.compile(rb"^" + re.escape(name.encode("ascii", "replace")) + rb"[ \t]*:(.*(?:\r?\n[ \t].*)*)",
                      re.IGNORECASE | re.MULTILINE)


def header_values(candidate: Candidate, pattern: re.Pattern[bytes]) -> list[str]:
    """Unfolded, RFC 2047-decoded, case-folded values of a field; a raw scan, no full parse."""
    assert candidate.data is not None
    end = candidate.data.find(b"\r\n\r\n")
    block = candidate.data if end < 0 else candidate.data[:end + 2]
    return [_decode_words(re.sub(rb"\r?\n", b"", match.group(1)).strip()).casefold()
            for match in pattern.finditer(block)]


def _header_contains(pattern: re.Pattern[bytes], text: str) -> Predicate:
    """A header key; a plain ASCII header without the text anywhere is ruled out at once."""
    needle = text.encode("ascii") if text.isascii() else None

    def matches(candidate: Candidate) -> bool:
        data = candidate.data
        assert data is not None
        if needle is not None and data.isascii() and b"=?" not in data and needle not in data.lower():
            return False
        return any(text in value for value in header_values(candidate, pattern))

    return matches


def _decode_words(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if b"=?" not in raw:
        return text
    if not text.isascii():  # decode_header would turn raw UTF-8 (RFC 6532) beside an encoded word into \uXXXX
        return str(email.policy.default.header_factory("subject", text))
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return text  # not valid RFC 2047 after all: search the text as it stands


_DATE_FIELD = field_pattern("date")


def _sent_day(candidate: Candidate) -> datetime.date | None:
    values = header_values(candidate, _DATE_FIELD)
    if not values:
        return None
    try:
        return email.utils.parsedate_to_datetime(values[0]).date()
    except (TypeError, ValueError, IndexError):
        return None


def _body_text(candidate: Candidate) -> str:
    texts = []
    for part in candidate.parsed().walk():
        if part.get_content_maintype() != "text":
            continue
        try:
            texts.append(part.get_content())
        except (LookupError, ValueError, AssertionError):
            payload = part.get_payload(decode=True)
            texts.append(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else "")
    return "\n".join(texts).casefold()


class _Parser:
    def __init__(self, tokens: list[Token], view: list[int], depth: int = 0) -> None:
        self.tokens = tokens
        self.position = 0
        self.view = view
        self.needs = NEEDS_NOTHING
        self.uses_modseq = False
        self.depth = depth

    def next(self) -> Token:
        if self.position >= len(self.tokens):
            raise BadCommand("missing search argument")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def keys(self) -> Predicate:
        predicates = [self.key()]
        while self.position < len(self.tokens):
            predicates.append(self.key())
        return predicates[0] if len(predicates) == 1 else (lambda c: all(p(c) for p in predicates))

    def key(self) -> Predicate:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise BadCommand("search keys nested too deeply")
        try:
            return self._key()
        finally:
            self.depth -= 1

    def _key(self) -> Predicate:
        token = self.next()
        if isinstance(token, list):
            inner = _Parser(token, self.view, self.depth)
            if not token:
                raise BadCommand("empty search list")
            predicate = inner.keys()
            self.needs = max(self.needs, inner.needs)
            self.uses_modseq |= inner.uses_modseq
            return predicate
        if isinstance(token, bytes):
            raise BadCommand("expected a search key")
        name = token.upper()
        if name in _FLAG_KEYS:
            flag, present = _FLAG_KEYS[name]
            return lambda c: (flag in c.message.flags) == present
        if name == "ALL":
            return lambda c: True
        if name in ("KEYWORD", "UNKEYWORD"):
            keyword, present = astring(self.next()), name == "KEYWORD"
            return lambda c: (keyword in c.message.flags) == present
        if name == "NEW":
            return lambda c: c.recent and "\\Seen" not in c.message.flags
        if name == "OLD":
            return lambda c: not c.recent
        if name == "RECENT":
            return lambda c: c.recent
        if name in ("LARGER", "SMALLER"):
            size = self.number()
            return (lambda c: c.message.size > size) if name == "LARGER" else (lambda c: c.message.size < size)
        if name in ("BEFORE", "ON", "SINCE"):
            day = _date(self.next())
            return _compare(name, day, _internal_day)
        if name in ("SENTBEFORE", "SENTON", "SENTSINCE"):
            day = _date(self.next())
            self.needs = max(self.needs, NEEDS_HEADER)
            return _compare(name[4:], day, _sent_day)
        if name in _ADDRESS_KEYS or name == "HEADER":
            pattern = field_pattern(name if name != "HEADER" else astring(self.next()))
            text = astring(self.next()).casefold()
            self.needs = max(self.needs, NEEDS_HEADER)
            return _header_contains(pattern, text)
        if name in ("BODY", "TEXT"):
            text = astring(self.next()).casefold()
            self.needs = NEEDS_ALL
            if name == "BODY":
                return lambda c: text in _body_text(c)
            return lambda c: text in _body_text(c) or any(
                text in f"{key}: {value}".casefold() for key, value in c.parsed().items())
        if name == "NOT":
            inner = self.key()
            return lambda c: not inner(c)
        if name == "OR":
            left, right = self.key(), self.key()
            return lambda c: left(c) or right(c)
        if name == "UID":
            wanted = set(sequence.uids_in(astring(self.next()), self.view))
            return lambda c: c.message.uid in wanted
        if name == "MODSEQ":
            argument = self.next()
            if isinstance(argument, bytes):  # optional entry name and type: MODSEQ "/flags/\\Seen" all 5
                self.next()
                argument = self.next()
            modseq = self._number_of(argument)
            self.uses_modseq = True
            return lambda c: c.message.modseq >= modseq
        if sequence.is_set(name):
            numbers = set(sequence.sequence_numbers(name, len(self.view)))
            return lambda c: c.sequence in numbers
        raise BadCommand(f"unknown search key {name[:40]}")

    def number(self) -> int:
        return self._number_of(self.next())

    @staticmethod
    def _number_of(token: Token) -> int:
        text = astring(token)
        if not text.isdigit() or len(text) > 20:
            raise BadCommand("expected a number")
        return int(text)


def _compare(operator: str, day: datetime.date, day_of: Callable[[Candidate], datetime.date | None]) -> Predicate:
    def check(candidate: Candidate) -> bool:
        actual = day_of(candidate)
        if actual is None:
            return False
        return actual < day if operator == "BEFORE" else actual == day if operator == "ON" else actual >= day

    return check


def parse_criteria(arguments: list[Token], view: list[int]) -> Criteria:
    """Search keys (after an optional `CHARSET name`) as a predicate over Candidates."""
    if len(arguments) >= 2 and isinstance(arguments[0], Atom) and arguments[0].upper() == "CHARSET":
        if astring(arguments[1]).upper() not in CHARSETS:
            raise BadCharset()
        arguments = arguments[2:]
    if not arguments:
        raise BadCommand("missing search keys")
    parser = _Parser(arguments, view)
    predicate = parser.keys()
    return Criteria(predicate, parser.needs, parser.uses_modseq)
