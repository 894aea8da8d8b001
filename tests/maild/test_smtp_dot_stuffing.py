"""Dot-stuffing (RFC 5321 4.5.2): the fast search for line-initial dots agrees with the plain
definition on any input, including dots beyond the one-by-one probes."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from maild.smtp.protocol import LINE_DOT_PROBES, has_line_dot, unstuff

CRLF = b"\r\n"
wire_bytes = st.lists(st.sampled_from([b".", b"\r", b"\n", b"\r\n", b"a", b"\r\n.", b"x.y"]), max_size=200).map(b"".join)


@given(wire_bytes)
def test_line_dots_are_found_exactly_where_a_line_starts_with_a_dot(data: bytes) -> None:
    assert has_line_dot(data) == (data.startswith(b".") or CRLF + b"." in data)


@given(wire_bytes)
def test_unstuffing_drops_the_first_dot_of_each_line_only(data: bytes) -> None:
    lines = data.split(CRLF)
    assert unstuff(data) == CRLF.join(line[1:] if line.startswith(b".") else line for line in lines)


def test_a_line_dot_after_many_dots_inside_lines_is_still_found() -> None:
    text = b"See example.com. " * (LINE_DOT_PROBES * 2) + b"\r\n"
    assert not has_line_dot(text)
    assert has_line_dot(text + b"..stuffed\r\n")
    assert unstuff(text + b"..stuffed\r\n") == text + b".stuffed\r\n"
