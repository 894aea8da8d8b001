"""The IMAP connection: the shared bounded line connection plus exact-length literal reads.

Literals (RFC 3501 4.3) are read in chunks straight from the bounded input buffer, so a
client announcing a large literal never makes the server allocate more than it accepted.
"""
from __future__ import annotations

from maild.connection import ConnectionClosed, LineConnection, LineTooLong

MAX_LINE = 64 * 1024  # command line limit (the literal data itself is read separately)

__all__ = ["ConnectionClosed", "ImapConnection", "LineTooLong"]


class ImapConnection(LineConnection):
    """A LineConnection that can also read `n` bytes exactly (literal data)."""

    async def read_exact(self, size: int) -> bytes:
        """Exactly `size` bytes of input; ConnectionClosed if the peer goes away first."""
        out = bytearray()
        while len(out) < size:
            if self._buffer:
                chunk = self._buffer[: size - len(out)]
                out += chunk
                del self._buffer[: len(chunk)]
                self._maybe_resume_reading()
                continue
            await self.wait_for_data()
        return bytes(out)
