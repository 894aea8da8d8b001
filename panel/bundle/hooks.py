"""Bundles follow the database by themselves: services never call the writer.

Before each flush (old values) and after it (new values), the nodes whose bundle content
changed are noted on the session; after the commit those nodes' bundles are rewritten; a
rollback forgets them. Bulk UPDATE and DELETE statements are resolved to nodes before they
run, from their WHERE clause.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Select, event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from panel.bundle.build import BUNDLED_ATTRIBUTES
from panel.bundle.publish import write_node
from panel.extensions import db
from panel.models import (
    Alias, AliasDestination, AppPassword, ArchiveHold, Certificate, Customer,
    DkimKey, Domain, Mailbox, Node, Plan,
)
log = logging.getLogger(__name__)
PENDING = "tegami.bundle.nodes"
EXTENSION = "tegami.bundle"
CHUNK = 500  # ids per IN (...) list


def init_app(app: Flask) -> None:
    """Rewrite bundles after commits made in this app (tools may build apps without it)."""
    app.extensions[EXTENSION] = True
    for name, listener in (("before_flush", _before_flush), ("after_flush", _after_flush),
                           ("do_orm_execute", _before_bulk),
                           ("after_commit", _after_commit), ("after_soft_rollback", _after_rollback)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def _node_query(model: type, ids: Iterable[int] | Select[Any]) -> Select[Any]:
    """The node ids that rows `ids` of `model` are served from."""
    via_domain = select(Domain.node_id)
    if model is Node:
        return select(Node.id).where(Node.id.in_(ids))
    if model is Domain:
        return via_domain.where(Domain.id.in_(ids))
    if model in (Mailbox, Alias, DkimKey):
        return via_domain.join(model, model.domain_id == Domain.id).where(model.id.in_(ids))
    if model is AliasDestination:
        return (via_domain.join(Alias, Alias.domain_id == Domain.id)
                .join(AliasDestination, AliasDestination.alias_id == Alias.id).where(AliasDestination.id.in_(ids)))
    if model is AppPassword:
        return (via_domain.join(Mailbox, Mailbox.domain_id == Domain.id)
                .join(AppPassword, AppPassword.mailbox_id == Mailbox.id).where(AppPassword.id.in_(ids)))
    if model is Customer:
        return via_domain.where(Domain.customer_id.in_(ids))
    if model is Plan:
        return via_domain.join(Customer, Domain.customer_id == Customer.id).where(Customer.plan_id.in_(ids))
    if model is Certificate:  # the provider's serve any node: rare changes, so every node is rewritten
        return select(Node.id)
    raise TypeError(f"{model.__name__} is not part of a bundle")


def _values(obj: Any, attribute: str) -> set[int] | None:
    """The attribute's values now and before this flush (a domain moved between nodes has two),
    read without loading anything; None if they are not in memory."""
    state = inspect(obj)
    if attribute == "id" and state.identity:
        return {state.identity[0]}
    return {v for v in state.attrs[attribute].history.sum() if v is not None} or None


def _parents(obj: Any) -> tuple[type, set[int] | None] | None:
    """Rows whose node the changed `obj` tells, as (model, ids or None if unknown);
    None if `obj` is not bundled."""
    if isinstance(obj, Certificate):
        owners = _values(obj, "customer_id")
        return (Customer, owners) if owners else (Certificate, _values(obj, "id"))
    if isinstance(obj, (Node, Customer, Plan)):
        return type(obj), _values(obj, "id")
    if isinstance(obj, Domain):
        return Node, _values(obj, "node_id")
    if isinstance(obj, (Mailbox, Alias, DkimKey, ArchiveHold)):
        return Domain, _values(obj, "domain_id")
    if isinstance(obj, AliasDestination):
        return Alias, _values(obj, "alias_id")
    if isinstance(obj, AppPassword):
        return Mailbox, _values(obj, "mailbox_id")
    return None


def _changed(obj: Any) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in BUNDLED_ATTRIBUTES.get(type(obj), ()))


def _note(session: Session, model: type, ids: set[int] | Select[Any]) -> None:
    pending: set[int] = session.info.setdefault(PENDING, set())
    if model is Node and isinstance(ids, set):
        pending.update(ids)
        return
    connection = session.connection()
    if isinstance(ids, set):
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            pending.update(connection.scalars(_node_query(model, ordered[start:start + CHUNK])))
    else:
        pending.update(connection.scalars(_node_query(model, ids)))


def _before_flush(session: Session, _context: object, _instances: object) -> None:
    """Changed rows still hold their old values in the database: note the nodes serving them
    now, so that a domain moved to another node also leaves the old node's bundle."""
    touched: dict[type, set[int]] = {}
    for obj in session.dirty:
        identity = inspect(obj).identity
        if identity and _changed(obj):
            touched.setdefault(type(obj), set()).add(identity[0])
    for model, ids in touched.items():
        _note(session, model, ids)


def _after_flush(session: Session, _context: object) -> None:
    touched: dict[type, set[int]] = {}
    every_node = False
    changed = [*session.new, *session.deleted, *(o for o in session.dirty if _changed(o))]
    for obj in changed:
        if (parents := _parents(obj)) is None:
            continue
        model, ids = parents
        if ids is None:  # not in memory, and the row may be gone: rewrite every node instead
            every_node = True
        else:
            touched.setdefault(model, set()).update(ids)
    for model, ids in touched.items():
        _note(session, model, ids)
    if every_node:
        _note(session, Node, select(Node.id))


def _before_bulk(state: ORMExecuteState) -> None:
    """Bulk UPDATE/DELETE bypass the flush: find their nodes while the rows still match."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    model = state.bind_mapper.class_
    if model not in BUNDLED_ATTRIBUTES:
        return
    statement = state.statement
    if state.is_update:
        # SQLAlchemy has no public accessor for an UPDATE's SET columns; `_values` holds them.
        columns = {getattr(c, "key", c) for c in (statement._values or {})}  # type: ignore[union-attr]
        rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
        columns.update(key for row in rows for key in row)
        if not columns & BUNDLED_ATTRIBUTES[model]:
            return
        if statement.whereclause is None:  # bulk UPDATE by primary key: ids are in the rows
            _note(state.session, model, {row["id"] for row in rows if "id" in row})
            return
    rows_hit = select(model.id)
    if statement.whereclause is not None:  # type: ignore[union-attr]
        rows_hit = rows_hit.where(statement.whereclause)  # type: ignore[union-attr]
    _note(state.session, model, rows_hit)


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    """Forget the noted nodes when the whole transaction is rolled back (not a savepoint)."""
    if previous.parent is None:
        session.info.pop(PENDING, None)


def _after_commit(session: Session) -> None:
    node_ids = session.info.pop(PENDING, None)
    if not node_ids or EXTENSION not in current_app.extensions:
        return
    for node_id in sorted(node_ids):
        try:
            write_node(node_id)
        except Exception:  # the commit stands; `flask bundle write` repairs a failed write
            log.exception("writing the bundle of node %d failed", node_id)
