"""The panel's side of the config bundle: build each node's content and write it on commit.

The format belongs to `maild.bundle` (docs/bundle.md); this package only decides what each
node is told (`build`), when (`hooks`, after every committed change) and where (`publish`).
"""
from panel.bundle.hooks import init_app
from panel.bundle.publish import write_all, write_node

__all__ = ["init_app", "write_all", "write_node"]
