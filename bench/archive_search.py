"""Archive search latency over 100,000 journaled messages (target: full-text search < 200 ms).

    .venv/bin/python bench/archive_search.py [--messages 100000] [--keep DIR]

Generates messages from a fixed vocabulary (English words, a few Japanese ones, varied senders,
recipients, subjects, text/plain and text/html bodies, dates spread over a year) and journals
them for one domain through `maild.archive.journal.Journal.append`, the capture path itself (MIME
text extraction, compression, hash chain, FTS5 trigram index). The bulk load skips the per-message
fsync (`durable=False`); the first 500 are timed with fsync as capture does them, which is the
append rate the SMTP 250 waits for. Then each query runs 20 times through `maild.archive.reader`
(count up to 10,001 + first page of 50, as the panel's search page does); the median and worst are
printed. A reference row times the rare-word search as a scan of the indexed text (no index).
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from maild.archive import reader
from maild.archive.journal import Envelope, Journal, open_readonly

DOMAIN = "corp.test"
WORDS = ("invoice budget meeting contract delivery schedule report quarterly figures revenue customer "
         "supplier shipment warehouse payment reminder proposal agenda minutes project deadline review "
         "approval signature legal compliance audit policy holiday training server backup network "
         "security password account renewal license product launch marketing campaign sales forecast").split()
JAPANESE = "会議 請求書 契約 納品 予算 報告 確認 出荷 支払い 見積もり".split()
RARE = "zanzibar"  # in 1 message of 1,000
COUNT_LIMIT = 10_000  # panel.services.archive.COUNT_LIMIT
PEOPLE = [f"user{n}@corp.test" for n in range(200)] + [f"contact{n}@partner{n % 40}.test" for n in range(400)]


def message(rng: random.Random, n: int, start: datetime) -> tuple[Envelope, bytes]:
    inbound = rng.random() < 0.6
    local = rng.choice(PEOPLE[:200])
    remote = rng.choice(PEOPLE[200:])
    sender, recipients = (remote, (local,)) if inbound else (local, (remote, rng.choice(PEOPLE[200:])))
    subject = " ".join(rng.choices(WORDS, k=4)) + (" " + rng.choice(JAPANESE) if rng.random() < 0.2 else "")
    words = rng.choices(WORDS, k=rng.randint(40, 200)) + rng.choices(JAPANESE, k=rng.randint(0, 5))
    if n % 1000 == 7:
        words.append(RARE)
    body = " ".join(words)
    when = start + timedelta(seconds=n * 315)
    if n % 3:
        content = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    else:
        content = f"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{body}</p></body></html>\r\n"
    raw = (f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{n}@bench.test>\r\nMIME-Version: 1.0\r\n{content}").encode()
    envelope = Envelope("in" if inbound else "out", sender, recipients, "192.0.2.1",
                        None if inbound else sender, when.isoformat(timespec="microseconds"))
    return envelope, raw


def load(root: Path, count: int) -> None:
    rng = random.Random(42)
    start = datetime(2025, 11, 1, tzinfo=UTC)
    durable = Journal(root)
    began = time.perf_counter()
    timed = min(500, count)
    for n in range(timed):
        durable.append(DOMAIN, *message(rng, n, start))
    elapsed = time.perf_counter() - began
    durable.close()
    print(f"capture with fsync: {timed / elapsed:,.0f} messages/s ({1000 * elapsed / timed:.2f} ms each)")
    bulk = Journal(root, durable=False)
    began = time.perf_counter()
    for n in range(timed, count):
        bulk.append(DOMAIN, *message(rng, n, start))
    bulk.close()
    print(f"bulk load of {count - timed:,}: {time.perf_counter() - began:.1f} s")


def timed_search(root: Path, query: reader.Query, runs: int = 20) -> tuple[float, float, int]:
    samples = []
    total = 0
    for _ in range(runs):
        began = time.perf_counter()
        total = reader.count(root, [DOMAIN], query, at_most=COUNT_LIMIT + 1)
        reader.search(root, [DOMAIN], query, limit=50)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), max(samples), total


def scan(root: Path, word: str) -> float:
    began = time.perf_counter()
    with open_readonly(root, DOMAIN) as connection:
        connection.execute("SELECT count(*) FROM search WHERE instr(lower(body), ?) > 0", (word,)).fetchone()
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the generated archive here")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="archive-bench-"))
    root = workdir / "archive"
    try:
        if not (root / DOMAIN).exists():
            load(root, args.messages)
        size = sum(path.stat().st_size for path in (root / DOMAIN).iterdir())
        print(f"archive: {reader.usage(root, DOMAIN).messages:,} messages, {size / 1e6:.0f} MB on disk")
        queries = {
            "full text, rare word": reader.Query(text=RARE),
            "full text, common word": reader.Query(text="invoice"),
            "full text, Japanese 2 chars": reader.Query(text="会議"),
            "full text + direction + month": reader.Query(text="contract", direction="in",
                                                          since=date(2026, 3, 1), until=date(2026, 3, 31)),
            "sender": reader.Query(sender="contact17@partner17.test"),
            "recipient + subject": reader.Query(recipient="user5@corp.test", subject="budget"),
            "no filter (newest first)": reader.Query(),
        }
        print(f"{'query':34} {'median ms':>10} {'worst ms':>10} {'matches':>9}")
        for label, query in queries.items():
            median, worst, total = timed_search(root, query)
            flag = "" if median < 200 else "  (over 200 ms)"
            shown = f"{COUNT_LIMIT:,}+" if total > COUNT_LIMIT else f"{total:,}"
            print(f"{label:34} {median:10.1f} {worst:10.1f} {shown:>9}{flag}")
        print(f"reference: the rare word by scanning every body: {scan(root, RARE):.0f} ms")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
