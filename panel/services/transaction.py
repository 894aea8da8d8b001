"""One transaction per service call, and the row locks that make limit checks race-safe."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from panel.extensions import db
from panel.models import Customer, Node, Reseller
from panel.services.errors import Invalid


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did, or roll all of it back if it raised.

    A unique constraint that a concurrent request won (two creates of one name at the same
    moment) is reported as a clear error rather than a database traceback.
    """
    try:
        yield
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if not _lost_unique_race(exc):
            raise  # a foreign key or NOT NULL failure is a bug to see, not a message to show
        raise Invalid(None, _l("Someone else changed the same thing at the same moment; please try again.")) from None
    except BaseException:
        db.session.rollback()
        raise


def _lost_unique_race(exc: IntegrityError) -> bool:
    """A unique constraint (PostgreSQL SQLSTATE 23505, SQLite's UNIQUE failure), nothing else."""
    return getattr(exc.orig, "sqlstate", None) == "23505" or str(exc.orig).startswith("UNIQUE constraint failed")


def lock(model: type[Customer] | type[Reseller] | type[Node], object_id: int) -> None:
    """Serialise writers on the owning row until commit.

    An UPDATE takes PostgreSQL's row lock (like SELECT ... FOR UPDATE) and SQLite's write
    lock alike, so the counts read afterwards cannot be overtaken by a concurrent insert.
    Lock in the order reseller, customer, node to avoid deadlocks.
    """
    db.session.execute(
        update(model).where(model.id == object_id).values(lock_version=model.lock_version + 1)
    )
