"""Hostile bytes against the IMAP command tokenizer and the MIME parser: errors, never crashes."""
from __future__ import annotations

from contextlib import suppress

from hypothesis import given, settings
from hypothesis import strategies as st

from maild.imap.fetch import parse_items, render
from maild.imap.parser import Atom, BadCommand, Literal, parse
from maild.imap.search import BadCharset, parse_criteria
from maild.store.index import Message
from maild.store.mime import parse as parse_mime
from maild.store.mime import summarize
from maild.store.names import InvalidName, decode_mutf7, encode_mutf7

IMAP_BYTES = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"a1", b" ", b"(", b")", b"[", b"]", b'"', b"\\", b"FETCH", b"BODY[", b"1:*", b"{3}", b"\xff",
                     b"HEADER.FIELDS", b"<0.5>", b"NIL", b"SEARCH", b"NOT", b"OR"]), max_size=60).map(b"".join)
MIME_PIECES = st.lists(st.sampled_from([
    b"Content-Type: multipart/mixed; boundary=b\r\n", b"Content-Type: message/rfc822\r\n", b"\r\n", b"--b\r\n",
    b"--b--\r\n", b"Subject: =?utf-8?q?caf=C3=A9?=\r\n", b"From: a@b, \"c\" <d@e>\r\n", b"text\r\n", b"\xff\xfe",
    b"Content-Type: text/plain; charset*=utf-8''%e2%82%ac\r\n", b" folded\r\n", b"Content-Disposition: attachment\r\n",
]), max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(IMAP_BYTES)
def test_any_command_line_tokenizes_or_is_bad(line: bytes) -> None:
    try:
        tag, name, arguments = parse([line])
    except BadCommand:
        return
    assert isinstance(tag, Atom) and name == name.upper()
    for argument in arguments:
        with suppress(BadCommand):  # a clean refusal is a fine outcome; anything else fails
            parse_items(argument)
    with suppress(BadCommand, BadCharset):
        parse_criteria(arguments, [1, 2, 3])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100))
def test_literal_segments_are_plain_strings(data: bytes) -> None:
    _, _, arguments = parse([b"a1 APPEND INBOX ", Literal(data), b""])
    assert arguments[-1] == data


@settings(max_examples=300, deadline=None)
@given(MIME_PIECES)
def test_any_message_gets_an_envelope_bodystructure_and_sections(data: bytes) -> None:
    envelope, structure = summarize(data)
    assert envelope.startswith("(") and structure.startswith("(")
    parse_mime(data)
    message = Message(1, "new", "x", len(data), 0.0, 1, frozenset(), envelope, structure)
    request = parse_items([Atom("BODY.PEEK[1.2.MIME]"), Atom("BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]"),
                           Atom("BODY.PEEK[TEXT]<1.3>"), Atom("BODY"), Atom("RFC822.HEADER")])
    assert render(request, message, data, False, True, False, False).startswith(b"(UID 1 ")


@given(st.text(max_size=30))
def test_modified_utf7_round_trips(name: str) -> None:
    assert decode_mutf7(encode_mutf7(name)) == name


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30))
def test_malformed_modified_utf7_is_refused_cleanly(text: str) -> None:
    with suppress(InvalidName):
        assert encode_mutf7(decode_mutf7(text)) == text  # what decodes is canonical
