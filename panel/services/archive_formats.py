"""Export formats for archived mail, written as generators so a response can stream them.

Only one message is in memory at a time whatever the size of the result set. The zip holds
each message's bytes exactly as received (`<domain>/<entry>.eml`); mbox is mboxrd (lines
starting `From ` after any `>`s gain one more `>`), with LF line ends as Unix mail readers expect.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime

from maild.archive.reader import Hit

FORMATS = {"mbox": "application/mbox", "zip": "application/zip"}
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


def _received(hit: Hit) -> datetime:
    return datetime.fromisoformat(hit.received_at)


def mbox(messages: Iterable[tuple[Hit, bytes]]) -> Iterator[bytes]:
    for hit, data in messages:
        text = data.replace(b"\r\n", b"\n")
        separator = f"From {hit.sender or 'MAILER-DAEMON'} {_received(hit).strftime('%a %b %d %H:%M:%S %Y')}\n"
        yield separator.encode() + _FROM_LINE.sub(rb">\1", text) + (b"" if text.endswith(b"\n") else b"\n") + b"\n"


class _Chunks(io.RawIOBase):
    """An unseekable sink: zipfile then writes data descriptors instead of seeking back."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def eml_zip(messages: Iterable[tuple[Hit, bytes]]) -> Iterator[bytes]:
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for hit, data in messages:
            info = zipfile.ZipInfo(f"{hit.domain}/{hit.seq:08d}.eml", _received(hit).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            yield sink.take()
    yield sink.take()


WRITERS = {"mbox": mbox, "zip": eml_zip}
