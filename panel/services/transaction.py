"""One transaction per service call, and the row locks that make limit checks race-safe."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update

from panel.extensions import db
from panel.models import Customer, Node, Reseller


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did, or roll all of it back if it raised."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def lock(model: type[Customer] | type[Reseller] | type[Node], object_id: int) -> None:
    """Serialise writers on the owning row until commit.

    An UPDATE takes PostgreSQL's row lock (like SELECT ... FOR UPDATE) and SQLite's write
    lock alike, so the counts read afterwards cannot be overtaken by a concurrent insert.
    Lock in the order reseller, customer, node to avoid deadlocks.
    """
    db.session.execute(
        update(model).where(model.id == object_id).values(lock_version=model.lock_version + 1)
    )
