"""Hot reload: notice a new bundle within ~`interval` seconds and swap the running Config whole."""
from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from maild.bundle.layout import CURRENT, MANIFEST, BundleError, StaleBundle
from maild.bundle.reader import load_bundle
from maild.config import Config

log = logging.getLogger("maild.bundle")
Stamp = tuple[int, int, int, int] | None


class ConfigHolder:
    """The configuration in force. Read `holder.current` once when a connection starts and keep
    that object: a reload replaces `current`, it never changes a Config already handed out."""

    def __init__(self, config: Config) -> None:
        self._current = config

    @property
    def current(self) -> Config:
        return self._current

    def swap(self, config: Config) -> None:
        self._current = config


def _stamp(path: Path) -> Stamp:
    """Identity of the manifest in force (one stat call), to poll cheaply for a new version."""
    for manifest in (path / CURRENT / MANIFEST, path / MANIFEST):
        try:
            status = os.stat(manifest)
        except OSError:
            continue
        return status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size
    return None


async def reload_once(path: str | os.PathLike[str], holder: ConfigHolder) -> bool:
    """Load the bundle at `path` if it is newer than `holder.current`; True if it was swapped in.

    An invalid bundle is logged with its reason and the running configuration stays in force.
    """
    running = holder.current.serial
    try:
        config = await asyncio.to_thread(load_bundle, path, running)
    except StaleBundle as exc:
        if exc.serial != running:
            log.error("bundle in %s rejected: %s; serial %d stays in force", path, exc, running)
        return False
    except BundleError as exc:
        log.error("bundle in %s rejected: %s; serial %d stays in force", path, exc, running)
        return False
    holder.swap(config)
    log.info("bundle serial %d in force (%d domains, %d mailboxes, %d aliases)",
             config.serial, len(config.domains), len(config.mailboxes), len(config.aliases))
    return True


async def watch(path: str | os.PathLike[str], holder: ConfigHolder, interval: float = 0.5) -> None:
    """Poll `path` every `interval` seconds until cancelled, swapping in each new valid bundle.

    Run it as a task next to the servers: `asyncio.create_task(watch(bundle_dir, holder))`.
    Each version is tried once; a rejected one is not retried until the bundle changes again.
    """
    path = Path(path)
    seen: Stamp = None
    while True:
        stamp = _stamp(path)
        if stamp != seen:
            seen = stamp
            await reload_once(path, holder)
        await asyncio.sleep(interval)
