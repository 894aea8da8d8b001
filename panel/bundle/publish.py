"""Writing nodes' bundles from committed data into BUNDLE_DIR/<node name>/."""
from __future__ import annotations

import re
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from maild.bundle import BundleContent, write_bundle
from panel.bundle.build import node_content
from panel.extensions import db
from panel.models import Node

_SAFE_DIRECTORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def node_directory(node_name: str) -> Path:
    """BUNDLE_DIR/<node name>; a name that is not a plain file name is refused, not followed."""
    if not _SAFE_DIRECTORY.match(node_name):
        raise ValueError(f"node name {node_name!r} cannot name a bundle directory")
    return Path(current_app.config["BUNDLE_DIR"]) / node_name


def write_node(node_id: int) -> int | None:
    """Rewrite one node's bundle from what is committed now; its serial, or None if it is gone."""
    with Session(db.engine) as session:
        name = session.scalar(select(Node.name).where(Node.id == node_id))
    if name is None:
        return None
    config = current_app.config

    def build() -> BundleContent:
        # A fresh session inside the node's write lock: it sees every commit made before.
        with Session(db.engine) as session:
            node = session.get(Node, node_id)
            if node is None or node.name != name:
                raise LookupError(f"node {name!r} was renamed or deleted while writing its bundle")
            return node_content(session, node, config)

    return write_bundle(node_directory(name), build)


def write_all() -> dict[str, int]:
    """Rewrite every node's bundle (`flask bundle write`); serial by node name."""
    with Session(db.engine) as session:
        nodes = session.execute(select(Node.id, Node.name).order_by(Node.name)).all()
    written = {}
    for node_id, name in nodes:
        serial = write_node(node_id)
        if serial is not None:
            written[name] = serial
    return written
