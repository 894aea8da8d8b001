"""The bundle's host[:port] syntax, shared by the outbound queue and the SPF/DKIM resolver."""
from __future__ import annotations

import pytest

from maild.net import split_host_port


@pytest.mark.parametrize(("text", "expected"), [
    ("192.0.2.1", ("192.0.2.1", 53)),
    ("192.0.2.1:5353", ("192.0.2.1", 5353)),
    ("relay.test:2526", ("relay.test", 2526)),
    ("[2001:db8::1]:5353", ("2001:db8::1", 5353)),
    ("[2001:db8::1]", ("2001:db8::1", 53)),
    ("2001:db8::1", ("2001:db8::1", 53)),
])
def test_host_and_port_split_with_default_port(text: str, expected: tuple[str, int]) -> None:
    assert split_host_port(text, 53) == expected
