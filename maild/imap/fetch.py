"""FETCH: item parsing and response rendering (RFC 3501 6.4.5 and 7.4.2).

ENVELOPE, BODYSTRUCTURE, FLAGS, sizes and dates come from the folder index without opening the
message; only body sections read the file. `BODY[section]<partial>` is cut from the raw bytes
located by `maild.store.mime`, so what a client fetches is byte-identical to what was stored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from maild.imap.parser import Atom, BadCommand, Token
from maild.imap.responses import flag_list, internal_date
from maild.store import Message
from maild.store.mime import Part, body_structure, header_end, parse

MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
SIMPLE = {"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822",
          "RFC822.HEADER", "RFC822.TEXT", "MODSEQ"}
_BODY = re.compile(r"^(BODY|BODY\.PEEK)\[([^\]]*)\](?:<(\d{1,10})(?:\.(\d{1,10}))?>)?$", re.IGNORECASE)
_SECTION = re.compile(r"^((?:[1-9]\d{0,4}\.)*[1-9]\d{0,4})?(?:^|\.)?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?"
                      r"(?: \(([^()]*)\))?$", re.IGNORECASE)
_FIELD = re.compile(r"^[!-9;-~]+$")


@dataclass(frozen=True)
class BodySection:
    label: bytes  # as echoed in the response, e.g. b"BODY[HEADER.FIELDS (FROM)]<0>"
    part: tuple[int, ...]
    text: str  # "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
    fields: frozenset[str]
    peek: bool
    partial: tuple[int, int | None] | None


@dataclass(frozen=True)
class FetchRequest:
    simple: tuple[str, ...]
    sections: tuple[BodySection, ...]

    @property
    def sets_seen(self) -> bool:
        return any(not s.peek for s in self.sections) or "RFC822" in self.simple or "RFC822.TEXT" in self.simple

    @property
    def needs_body(self) -> bool:
        return bool(self.sections) or any(item in self.simple for item in ("BODY", "RFC822", "RFC822.HEADER", "RFC822.TEXT"))


def _section(atom: str) -> BodySection:
    match = _BODY.match(atom)
    if match is None:
        raise BadCommand(f"unknown FETCH item {atom[:40]}")
    kind, spec, origin, length = match.groups()
    inner = _SECTION.match(spec)
    if inner is None:
        raise BadCommand("invalid body section")
    part_text, text, field_text = inner.groups()
    text = (text or "").upper()
    if bool(field_text is not None) != text.startswith("HEADER.FIELDS"):
        raise BadCommand("HEADER.FIELDS needs a list of field names")
    if text == "MIME" and not part_text:
        raise BadCommand("MIME needs a part number")
    fields = frozenset(f.strip('"').lower() for f in (field_text or "").split())
    if any(not _FIELD.match(f) for f in fields):
        raise BadCommand("invalid header field name")
    part = tuple(int(n) for n in part_text.split(".")) if part_text else ()
    partial = (int(origin), int(length) if length is not None else None) if origin is not None else None
    label_spec = ".".join(filter(None, [part_text, text]))
    if field_text is not None:
        label_spec += " (" + " ".join(f.strip('"') for f in field_text.split()) + ")"  # as the client wrote it
    label = f"BODY[{label_spec}]" + (f"<{origin}>" if origin is not None else "")
    return BodySection(label.encode(), part, text, fields, kind.upper() == "BODY.PEEK", partial)


def parse_items(token: Token) -> FetchRequest:
    """The FETCH items of one argument (an atom, a macro or a parenthesised list)."""
    items = token if isinstance(token, list) else [token]
    if not items:
        raise BadCommand("empty FETCH item list")
    simple: list[str] = []
    sections: list[BodySection] = []
    for item in items:
        if not isinstance(item, Atom):
            raise BadCommand("FETCH items must be atoms")
        name = item.upper()
        if name in MACROS and not isinstance(token, list):
            simple.extend(MACROS[name])
        elif name in SIMPLE:
            simple.append(name)
        else:
            sections.append(_section(str(item)))
    return FetchRequest(tuple(dict.fromkeys(simple)), tuple(sections))


def _literal(data: bytes) -> bytes:
    return b"{%d}\r\n%s" % (len(data), data)


def _header_fields(block: bytes, fields: frozenset[str], keep: bool) -> bytes:
    """The header lines whose name is (or, for .NOT, is not) in `fields`, then a blank line."""
    out = bytearray()
    selected = False
    for line in block.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t"):
            if selected:
                out += line
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("latin-1")
        selected = (name in fields) == keep
        if selected:
            out += line
    return bytes(out) + b"\r\n"


def _locate(tree: Part, path: tuple[int, ...]) -> Part | None:
    """The part at a section path (RFC 3501 6.4.5), or None if there is no such part.

    Below the top level, the parts of a message/rfc822 part are those of the message it holds;
    a message that is not multipart has exactly one part, its body.
    """
    node = tree
    for depth, number in enumerate(path):
        container = node if depth == 0 else (node.message or node)
        if container.children:
            if number > len(container.children):
                return None
            node = container.children[number - 1]
        elif number == 1:
            node = container
        else:
            return None
    return node


class _Source:
    """One message's bytes; its MIME tree is parsed only if a part is asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.body_start = header_end(data)
        self._tree: Part | None = None

    @property
    def tree(self) -> Part:
        if self._tree is None:
            self._tree = parse(self.data)
        return self._tree


def section_bytes(source: _Source, section: BodySection) -> bytes:
    data = source.data
    if not section.part:
        if section.text == "HEADER":
            return data[:source.body_start]
        if section.text.startswith("HEADER.FIELDS"):
            return _header_fields(data[:source.body_start], section.fields, section.text == "HEADER.FIELDS")
        return data[source.body_start:] if section.text == "TEXT" else data
    node = _locate(source.tree, section.part)
    if node is None:
        return b""
    if section.text == "MIME":
        return data[node.start:node.body_start]
    if section.text:  # HEADER, HEADER.FIELDS(.NOT) or TEXT of an attached message/rfc822
        if node.message is None:
            return b""
        node = node.message
        if section.text == "HEADER":
            return data[node.start:node.body_start]
        if section.text.startswith("HEADER.FIELDS"):
            return _header_fields(data[node.start:node.body_start], section.fields, section.text == "HEADER.FIELDS")
    return data[node.body_start:node.end]


def _partial(content: bytes, partial: tuple[int, int | None] | None) -> bytes:
    if partial is None:
        return content
    origin, length = partial
    return content[origin:] if length is None else content[origin:origin + length]


def render(request: FetchRequest, message: Message, data: bytes | None, recent: bool,
           include_uid: bool, include_flags: bool, modseq: bool) -> bytes:
    """The parenthesised item list of one `* n FETCH (...)` response."""
    items: list[bytes] = []
    names = list(request.simple)
    if include_uid and "UID" not in names:
        names.insert(0, "UID")
    if include_flags and "FLAGS" not in names:
        names.append("FLAGS")
    if modseq and "MODSEQ" not in names:
        names.append("MODSEQ")
    source = _Source(data) if data is not None else None
    for name in names:
        if name == "UID":
            items.append(b"UID %d" % message.uid)
        elif name == "FLAGS":
            items.append(b"FLAGS " + flag_list(message.flags, recent))
        elif name == "INTERNALDATE":
            items.append(b"INTERNALDATE " + internal_date(message.internal_date))
        elif name == "RFC822.SIZE":
            items.append(b"RFC822.SIZE %d" % message.size)
        elif name == "MODSEQ":
            items.append(b"MODSEQ (%d)" % message.modseq)
        elif name in ("ENVELOPE", "BODYSTRUCTURE"):
            items.append(name.encode() + b" " + _cached(message, name))
        elif source is not None:
            if name == "BODY":
                items.append(b"BODY " + body_structure(source.data, source.tree, extended=False))
            elif name == "RFC822":
                items.append(b"RFC822 " + _literal(source.data))
            elif name == "RFC822.HEADER":
                items.append(b"RFC822.HEADER " + _literal(source.data[:source.body_start]))
            elif name == "RFC822.TEXT":
                items.append(b"RFC822.TEXT " + _literal(source.data[source.body_start:]))
    if source is not None:
        for section in request.sections:
            items.append(section.label + b" " + _literal(_partial(section_bytes(source, section), section.partial)))
    return b"(" + b" ".join(items) + b")"


def _cached(message: Message, name: str) -> bytes:
    """ENVELOPE/BODYSTRUCTURE from the index (computed once when the message was stored)."""
    text = message.envelope if name == "ENVELOPE" else message.bodystructure
    return text.encode("utf-8", "surrogateescape")
