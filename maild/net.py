"""Addresses as the bundle writes them: `host`, `host:port`, `[v6]:port` or a bare IPv6 address.

`Server.resolver` entries (DNS servers for the outbound queue and the SPF/DKIM checks) and
`Server.smarthost` use this one syntax, so both readers split it here.
"""
from __future__ import annotations


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    """(host, port), with `default_port` when `text` names none; IPv6 brackets removed."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port
