"""What a bundle looks like on disk (docs/bundle.md): directory names, file names, errors."""
from __future__ import annotations

import os
from pathlib import Path

CURRENT = "current"  # symlink to the version directory in force
MANIFEST = "manifest.json"
SERVER = "server.json"
DOMAINS = "domains.json"
MAILBOXES = "mailboxes.json"
ALIASES = "aliases.json"
CONTENT_FILES = (SERVER, DOMAINS, MAILBOXES, ALIASES)
VERSION_PREFIX = "v"
TEMP_PREFIX = ".tmp-"
LOCK_FILE = ".lock"


class BundleError(Exception):
    """A bundle that must not be used; the message says why, for the operator's log."""


class StaleBundle(BundleError):
    """The bundle is valid-looking but not newer than the configuration already running."""

    def __init__(self, serial: int, running: int) -> None:
        super().__init__(f"serial {serial} is not newer than the running serial {running}")
        self.serial = serial


def version_name(serial: int) -> str:
    return f"{VERSION_PREFIX}{serial}"


def version_serial(name: str) -> int | None:
    """The serial a version directory's name carries, or None for anything else."""
    digits = name.removeprefix(VERSION_PREFIX)
    return int(digits) if name.startswith(VERSION_PREFIX) and digits.isdigit() else None


def resolve(path: str | os.PathLike[str]) -> Path:
    """The version directory to read: `path/current`'s target, or `path` itself if it is one.

    The symlink is read once, so a writer swapping it mid-read cannot mix two versions.
    """
    path = Path(path)
    try:
        target = os.readlink(path / CURRENT)
    except FileNotFoundError:
        if (path / MANIFEST).is_file():
            return path
        raise BundleError(f"no bundle in {path}: neither {CURRENT} nor {MANIFEST} exists") from None
    except OSError as exc:
        raise BundleError(f"cannot read {path / CURRENT}: {exc.strerror}") from None
    return path / target
