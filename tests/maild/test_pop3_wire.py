"""Message bytes on the POP3 wire: what a client un-stuffs is the message, for any bytes at all."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from maild.pop3.wire import crlf, multiline, top

# Bytes rich in the characters that matter: dots, CR, LF, and line starts.
MESSAGES = st.lists(st.sampled_from([b".", b"..", b"\r", b"\n", b"\r\n", b"a", b" ", b"\r\n.\r\n"]),
                    max_size=40).map(b"".join)


def unstuff(wire: bytes) -> bytes:
    """What a client does (RFC 1939 section 3): split at CRLF, stop at ".", drop one leading dot."""
    assert wire.endswith(b".\r\n")
    lines = wire.split(b"\r\n")
    end = lines.index(b".")
    assert end == len(lines) - 2, "the terminator appeared early: a line was not stuffed"
    return b"".join(line[1:] + b"\r\n" if line.startswith(b".") else line + b"\r\n" for line in lines[:end])


@given(MESSAGES)
def test_multiline_round_trips_through_a_client(data: bytes) -> None:
    body = crlf(data)
    wire = multiline(body)
    assert b"\n" not in wire.replace(b"\r\n", b"")  # every line end is CRLF
    expected = body if not body or body.endswith(b"\r\n") else body + b"\r\n"
    assert unstuff(wire) == expected


@given(MESSAGES)
def test_crlf_leaves_no_bare_line_feed_and_keeps_crlf_text_as_is(data: bytes) -> None:
    converted = crlf(data)
    assert converted.count(b"\n") == converted.count(b"\r\n")
    assert converted.replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")
    assert crlf(converted) == converted


@given(MESSAGES, st.integers(min_value=0, max_value=50))
def test_top_is_a_prefix_ending_after_the_header_block_and_whole_lines(data: bytes, lines: int) -> None:
    message = crlf(data)
    head = top(message, lines)
    assert message.startswith(head)
    assert head == message or head.endswith(b"\r\n")


def test_top_counts_body_lines_after_the_blank_line() -> None:
    message = b"Subject: x\r\nX-A: 1\r\n\r\none\r\ntwo\r\nthree\r\n"
    assert top(message, 0) == b"Subject: x\r\nX-A: 1\r\n\r\n"
    assert top(message, 2) == b"Subject: x\r\nX-A: 1\r\n\r\none\r\ntwo\r\n"
    assert top(message, 9) == message
    assert top(b"Subject: no body\r\n", 3) == b"Subject: no body\r\n"
    assert top(b"\r\nbody only\r\nmore\r\n", 1) == b"\r\nbody only\r\n"
