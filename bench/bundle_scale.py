"""Bundle write and load time at scale: one node with 100k mailboxes (targets: write < 5 s, load < 2 s).

    .venv/bin/python bench/bundle_scale.py [--mailboxes 100000] [--database-url URL]

Fills a scratch SQLite database (or the given one, which must be empty) through bulk inserts,
then times what the panel does after a commit (read the node's rows, write the bundle
atomically) and what maild does on reload (read, verify, validate, build the Config).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import insert

from maild.bundle import load_bundle
from panel import create_app
from panel.bundle import write_node
from panel.extensions import db
from panel.models import Alias, AliasDestination, Customer, Domain, DomainStatus, Mailbox, Node, Plan, Tier

MAILBOXES_PER_DOMAIN = 100
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$" + "h" * 43  # a real hash's length


def populate(mailboxes: int) -> int:
    """One shared node, one customer per 10 domains, 100 mailboxes and 10 aliases per domain."""
    session = db.session
    plan_id = session.execute(insert(Plan).values(
        name="Bench", tier=Tier.SHARED, default_quota_bytes=2**30, max_message_bytes=25 * 2**20,
        sends_per_hour=200).returning(Plan.id)).scalar_one()
    node_id = session.execute(insert(Node).values(
        name="bench", hostname="mx.bench.example", ip="192.0.2.1", tier=Tier.SHARED).returning(Node.id)).scalar_one()
    domains = -(-mailboxes // MAILBOXES_PER_DOMAIN)
    customer_ids = session.execute(insert(Customer).returning(Customer.id),
                                   [{"name": f"C{i}", "plan_id": plan_id} for i in range(domains // 10 + 1)]).scalars().all()
    domain_ids = session.execute(insert(Domain).returning(Domain.id), [
        {"name": f"d{i}.bench.example", "customer_id": customer_ids[i // 10], "node_id": node_id,
         "status": DomainStatus.ACTIVE} for i in range(domains)]).scalars().all()
    session.execute(insert(Mailbox), [
        {"domain_id": domain_ids[i // MAILBOXES_PER_DOMAIN], "local_part": f"user{i}", "password_hash": HASH,
         "quota_bytes": 2**30} for i in range(mailboxes)])
    alias_ids = session.execute(insert(Alias).returning(Alias.id), [
        {"domain_id": domain_id, "local_part": f"team{j}"} for domain_id in domain_ids for j in range(10)]).scalars().all()
    session.execute(insert(AliasDestination), [
        {"alias_id": alias_id, "address": f"user{n}@elsewhere.example"} for n, alias_id in enumerate(alias_ids)])
    session.commit()
    return node_id


def scale_arguments(description: str) -> argparse.Namespace:
    """`--mailboxes N` (100k) and `--database-url` (an empty database; scratch SQLite otherwise)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--database-url")
    return parser.parse_args()


def bench_app(root: Path, database_url: str | None, **settings: object) -> Flask:
    """A panel whose instance, bundles and (unless given) database live under `root`."""
    return create_app({
        "SECRET_KEY": "bench", "INSTANCE_PATH": str(root / "instance"), "BUNDLE_DIR": str(root / "bundle"),
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{root / 'bench.db'}", **settings,
    })


def main() -> None:
    args = scale_arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        app = bench_app(root, args.database_url)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            node_id = populate(args.mailboxes)
            print(f"populated {args.mailboxes} mailboxes in {time.perf_counter() - started:.1f} s")
            for attempt in (1, 2, 3):
                started = time.perf_counter()
                write_node(node_id)
                written = time.perf_counter() - started
                started = time.perf_counter()
                config = load_bundle(root / "bundle" / "bench")
                loaded = time.perf_counter() - started
                size = sum(f.stat().st_size for f in (root / "bundle" / "bench" / "current").iterdir())
                print(f"run {attempt}: write {written:.2f} s (target < 5), load {loaded:.2f} s (target < 2); "
                      f"{len(config.mailboxes)} mailboxes, {len(config.aliases)} aliases, {size / 2**20:.1f} MiB")
            if args.database_url:
                db.drop_all()


if __name__ == "__main__":
    main()
