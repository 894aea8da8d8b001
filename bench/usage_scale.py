"""Usage at scale: 100k mailboxes (targets: collection < 5 s, admin usage page < 200 ms).

    .venv/bin/python bench/usage_scale.py [--mailboxes 100000] [--database-url URL]

Fills a scratch SQLite database (or the given empty one) like bench/bundle_scale.py, writes the
node's bundle and loads it as maild does, then times:

- maild: an incremental report after 1,000 mailboxes changed (the usual case), the first full
  snapshot (opens every quota counter, creating the Maildirs) and a later full snapshot;
- the panel: collecting the full report (parse, bulk update of 100k counters, 100k daily
  samples) and an incremental one;
- the admin's usage pages over HTTP (Flask test client): overview, fullest mailboxes, >= 80%.
"""
from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import bindparam, update

sys.path.insert(0, str(Path(__file__).parent))
from bundle_scale import bench_app, populate, scale_arguments  # noqa: E402 (the bundle benchmark's data)

from maild.bundle import ConfigHolder, load_bundle  # noqa: E402
from maild.store import Store  # noqa: E402
from maild.usage import Reporter  # noqa: E402
from panel.bundle import write_node  # noqa: E402
from panel.extensions import db  # noqa: E402
from panel.models import Mailbox, Role  # noqa: E402
from panel.services import users  # noqa: E402
from panel.services.actor import Actor  # noqa: E402
from panel.services.usage_reports import collect  # noqa: E402

CHANGED = 1000
PAGE_RUNS = 7


def timed(label: str, action: Callable[[], object], target: float | None = None) -> object:
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f} s" + (f" (target < {target:g} s)" if target else ""))
    return result


def main() -> None:
    args = scale_arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        app = bench_app(root, args.database_url, WTF_CSRF_ENABLED=False, PASSWORD_HASH_ROUNDS=1)
        with app.app_context():
            db.create_all()
            node_id = populate(args.mailboxes)
            write_node(node_id)
            config = load_bundle(root / "bundle" / "bench")
            store, data_dir = Store(root / "mail"), root / "maild"
            reporter = Reporter(ConfigHolder(config), store, data_dir)
            boxes = random.Random(8).sample(list(config.mailboxes.values()), CHANGED)

            async def change_some() -> None:
                for box in boxes:
                    await store.deliver(box, b"Subject: bench\r\n\r\n" + b"x" * 2000)
            asyncio.run(change_some())
            timed(f"maild incremental report ({CHANGED} changed of {args.mailboxes})",
                  lambda: asyncio.run(reporter.report()))
            timed(f"panel collects it ({CHANGED} mailboxes)", lambda: collect(data_dir), target=5.0)
            for run, label in ((1, "first full report (opens the counters of the used Maildirs)"),
                               (2, "later full report")):
                timed(f"maild {label}", lambda: asyncio.run(reporter.report(full=True)))
                size = sum(path.stat().st_size for path in (data_dir / "usage" / "outbox").glob("*.json"))
                timed(f"panel collects the full report ({args.mailboxes} mailboxes, {size / 2**20:.1f} MiB), run {run}",
                      lambda: collect(data_dir), target=5.0)
            # Give every mailbox a different fill so the dashboards' sort has work to do.
            rng = random.Random(1)
            db.session.connection().execute(
                update(Mailbox).where(Mailbox.id == bindparam("b_id")).values(used_bytes=bindparam("b_used")),
                [{"b_id": i, "b_used": rng.randrange(2**30)} for i in range(1, args.mailboxes + 1)])
            db.session.commit()
            admin = users.create_user(Actor.system("bench"), "admin@bench.example", "bench password 1", Role.ADMIN)
            email = admin.email

        client = app.test_client()
        client.post("/login", data={"login": email, "password": "bench password 1"})
        for url in ("/usage/", "/usage/mailboxes", "/usage/mailboxes?near=80"):
            times = []
            for _ in range(PAGE_RUNS):
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, (url, response.status_code)
            print(f"GET {url}: median {statistics.median(times) * 1000:.0f} ms, best {min(times) * 1000:.0f} ms "
                  f"(target < 200 ms)")
        if args.database_url:
            with app.app_context():
                db.drop_all()


if __name__ == "__main__":
    main()
