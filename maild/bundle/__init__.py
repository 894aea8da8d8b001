"""The config bundle: the only thing maild reads, written by the panel (contract: docs/bundle.md).

Daemon side::

    holder = ConfigHolder(load_bundle(bundle_dir))      # refuse to start on a bad bundle
    asyncio.create_task(watch(bundle_dir, holder))      # new serials swap in within ~0.5 s
    ...
    config = holder.current                             # once per connection; keep it

Panel side: ``write_bundle(node_dir, lambda: BundleContent(server, domains, mailboxes, aliases))``.
"""
from maild.bundle.layout import BundleError, StaleBundle
from maild.bundle.reader import load_bundle
from maild.bundle.reload import ConfigHolder, reload_once, watch
from maild.bundle.writer import BundleContent, write_bundle

__all__ = [
    "BundleContent", "BundleError", "ConfigHolder", "StaleBundle", "load_bundle", "reload_once",
    "watch", "write_bundle",
]
