"""Folder names: modified UTF-7 (RFC 3501 5.1.3) and their Maildir++ directories.

Folders are stored as Dovecot does: `INBOX` is the Maildir itself, `Sent` is `.Sent`, a child
`Work.2024` is `.Work.2024` (the hierarchy separator is "."), with names on disk in modified UTF-7.
"""
from __future__ import annotations

import base64

SEPARATOR = "."
INBOX = "INBOX"
MAX_NAME_BYTES = 255


class InvalidName(ValueError):
    """A folder name that cannot be stored (or is not valid modified UTF-7)."""


def encode_mutf7(name: str) -> str:
    """Unicode -> modified UTF-7."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_mutf7(text: str) -> str:
    """Modified UTF-7 -> Unicode; raises InvalidName on malformed input."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if not 0x20 <= ord(char) <= 0x7E:
            raise InvalidName("mailbox names must be 7-bit modified UTF-7")
        if char != "&":
            out.append(char)
            index += 1
            continue
        end = text.find("-", index)
        if end < 0:
            raise InvalidName("unterminated modified UTF-7 sequence")
        chunk = text[index + 1 : end]
        if not chunk:
            out.append("&")
        else:
            padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
            try:
                decoded = base64.b64decode(padded, validate=True).decode("utf-16-be")
            except ValueError as error:
                raise InvalidName("malformed modified UTF-7 sequence") from error
            if not decoded or any(0x20 <= ord(c) <= 0x7E for c in decoded):
                raise InvalidName("non-canonical modified UTF-7 sequence")
            out.append(decoded)
        index = end + 1
    return "".join(out)


def normalize(name: str) -> str:
    """Canonical folder name: `INBOX` in any case is INBOX; validates what the disk can hold."""
    if name.upper() == INBOX:
        return INBOX
    parts = name.split(SEPARATOR)
    if parts[0].upper() == INBOX:
        parts[0] = INBOX
    for part in parts:
        if not part or part in ("..",) or "/" in part or "\x00" in part:
            raise InvalidName("invalid folder name")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in part):
            raise InvalidName("control characters are not allowed in folder names")
        if "*" in part or "%" in part:
            raise InvalidName("* and % are LIST wildcards, not allowed in folder names")
    joined = SEPARATOR.join(parts)
    if len(encode_mutf7(joined).encode()) > MAX_NAME_BYTES:
        raise InvalidName("folder name too long")
    return joined


def directory_name(name: str) -> str:
    """The Maildir++ directory of a non-INBOX folder (relative to the Maildir)."""
    return "." + encode_mutf7(name)


def folder_name(directory: str) -> str | None:
    """The folder a Maildir++ directory holds, or None if it is not a folder directory."""
    if not directory.startswith(".") or directory in (".", ".."):
        return None
    try:
        return normalize(decode_mutf7(directory[1:]))
    except InvalidName:
        return None
