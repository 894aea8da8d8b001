"""Reading and tokenising IMAP commands (RFC 3501 section 9), with literals and LITERAL+.

A command is read as line segments and literal data; every size is bounded before anything is
allocated: a line by the connection, a literal by `literal_limit` (larger for APPEND), the
number of literals per command, and the nesting depth of parenthesised lists. The tokens are
plain values: `Atom` (a str), `bytes` (a quoted string or literal) and `list` (parentheses).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from maild.imap.connection import ImapConnection

MAX_DEPTH = 16
MAX_LITERALS = 64
MAX_SMALL_LITERAL = 64 * 1024
_LITERAL_END = re.compile(rb"\{(\d{1,12})(\+?)\}\r?$")
_TAG = re.compile(r"^[!#$&'*,-.0-9:;<=>?@A-Z\[^_`a-z|}~]{1,64}$")


class Atom(str):
    """An unquoted token: keywords, numbers, sequence sets, flags, FETCH items."""


Token = Atom | bytes | list  # list holds Tokens


class BadCommand(Exception):
    """Syntax error: answered with `<tag> BAD <message>` (tag '*' if unknown)."""

    def __init__(self, message: str, tag: str = "*") -> None:
        super().__init__(message)
        self.tag = tag


class LiteralTooLarge(Exception):
    """A literal over the limit. `synchronizing` ones can be refused; LITERAL+ ones end the session."""

    def __init__(self, tag: str, synchronizing: bool) -> None:
        super().__init__("literal too large")
        self.tag = tag
        self.synchronizing = synchronizing


@dataclass(frozen=True)
class Literal:
    data: bytes


def _tag_of(line: bytes) -> str:
    tag = line.split(b" ", 1)[0].decode("latin-1")
    return tag if _TAG.match(tag) else "*"


async def read_command(connection: ImapConnection, append_limit: Callable[[], int]) -> list[bytes | Literal]:
    """One command as line segments and literal data, sending `+` continuations as needed."""
    segments: list[bytes | Literal] = []
    while True:
        line = await connection.readline()
        if not line.endswith(b"\n"):
            raise BadCommand("line must end with CRLF")
        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        match = _LITERAL_END.search(line)
        if match is None:
            segments.append(line)
            return segments
        segments.append(line[: match.start()])
        first = segments[0]
        assert isinstance(first, bytes)
        tag = _tag_of(first)
        words = first.split(b" ", 3)
        appending = len(words) > 1 and words[1].upper() == b"APPEND"
        limit = append_limit() if appending else MAX_SMALL_LITERAL
        size, synchronizing = int(match.group(1)), not match.group(2)
        if size > limit or len(segments) > 2 * MAX_LITERALS:
            raise LiteralTooLarge(tag, synchronizing)
        if synchronizing:
            connection.write(b"+ Ready for literal data\r\n")
        segments.append(Literal(await connection.read_exact(size)))


class Tokenizer:
    """Turns segments into tokens; raises BadCommand on malformed syntax."""

    def __init__(self, segments: list[bytes | Literal]) -> None:
        self._segments = segments
        self._index = 0
        self._pos = 0

    def _current(self) -> bytes | Literal | None:
        return self._segments[self._index] if self._index < len(self._segments) else None

    def tokens(self) -> list[Token]:
        result, closed = self._sequence(0)
        if closed:
            raise BadCommand("unbalanced parenthesis")
        return result

    def _sequence(self, depth: int) -> tuple[list[Token], bool]:
        if depth > MAX_DEPTH:
            raise BadCommand("parentheses nested too deeply")
        items: list[Token] = []
        while True:
            segment = self._current()
            if segment is None:
                return items, False
            if isinstance(segment, Literal):
                items.append(segment.data)
                self._index += 1
                self._pos = 0
                continue
            if self._pos >= len(segment):
                self._index += 1
                self._pos = 0
                continue
            char = segment[self._pos : self._pos + 1]
            if char == b" ":
                self._pos += 1
            elif char == b"(":
                self._pos += 1
                inner, closed = self._sequence(depth + 1)
                if not closed:
                    raise BadCommand("missing closing parenthesis")
                items.append(inner)
            elif char == b")":
                self._pos += 1
                if depth == 0:
                    raise BadCommand("unexpected closing parenthesis")
                return items, True
            elif char == b'"':
                items.append(self._quoted(segment))
            else:
                items.append(self._atom(segment))

    def _quoted(self, segment: bytes) -> bytes:
        out = bytearray()
        pos = self._pos + 1
        while pos < len(segment):
            char = segment[pos]
            if char == 0x5C and pos + 1 < len(segment):  # backslash
                out.append(segment[pos + 1])
                pos += 2
            elif char == 0x22:
                self._pos = pos + 1
                return bytes(out)
            else:
                out.append(char)
                pos += 1
        raise BadCommand("unterminated quoted string")

    def _atom(self, segment: bytes) -> Atom:
        start = pos = self._pos
        bracket = 0
        while pos < len(segment):
            char = segment[pos : pos + 1]
            if char == b"[":
                bracket += 1
            elif char == b"]":
                bracket = max(0, bracket - 1)
            elif bracket == 0 and char in (b" ", b"(", b")"):
                break
            elif char in (b"\r", b"\n", b"\x00", b"{", b'"') and bracket == 0:
                raise BadCommand("invalid character in atom")
            pos += 1
        if bracket:
            raise BadCommand("unterminated [")
        self._pos = pos
        try:
            return Atom(segment[start:pos].decode("ascii"))
        except UnicodeDecodeError as error:
            raise BadCommand("8-bit characters are not allowed in atoms") from error


def parse(segments: list[bytes | Literal]) -> tuple[str, str, list[Token]]:
    """(tag, upper-case command name, arguments)."""
    first = segments[0]
    tag = _tag_of(first) if isinstance(first, bytes) else "*"
    try:
        tokens = Tokenizer(segments).tokens()
    except BadCommand as error:
        raise BadCommand(str(error), tag) from error
    if len(tokens) < 2 or not isinstance(tokens[0], Atom) or not _TAG.match(tokens[0]) or not isinstance(tokens[1], Atom):
        raise BadCommand("expected: tag command [arguments]", tag)
    return tokens[0], tokens[1].upper(), tokens[2:]


def astring(token: Token) -> str:
    """An astring argument as text (UTF-8, so SEARCH CHARSET UTF-8 and 8-bit names work)."""
    if isinstance(token, list):
        raise BadCommand("expected a string, got a list")
    if isinstance(token, bytes):
        try:
            return token.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadCommand("invalid UTF-8 in string") from error
    return str(token)
