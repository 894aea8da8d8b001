"""Reads racing a rename: a message moved by a flag change or a settle is never reported gone.

Regression: a FETCH of bodies while another session's SELECT settled new/ into cur/ answered
NO [EXPUNGEISSUED] (the index entry still named the file in new/ until the whole batch was done).
"""
from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from maild.config import Mailbox
from maild.store import Store
from maild.store import folder as folder_module

MAILBOX = Mailbox(id=1, local_part="bob", domain="example.com", password_hash="x", quota_bytes=0,
                  enabled=True, customer_id=1, max_message_bytes=1_000_000, sends_per_hour=None)
COUNT = 5
WAIT = 20.0


def test_messages_being_settled_or_flagged_are_read_in_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    renamed_one, reads_done = threading.Event(), threading.Event()
    real_rename = os.rename

    def rename_then_pause(source: Path, target: Path) -> None:
        real_rename(source, target)
        if not renamed_one.is_set():
            renamed_one.set()  # the batch stops here, its index entries not yet updated
            assert reads_done.wait(WAIT)

    async def scenario() -> tuple[dict[int, bytes], dict[int, bytes]]:
        bodies = [f"Subject: {number}\r\n\r\nbody {number}\r\n".encode() for number in range(COUNT)]
        for body in bodies:
            await store.deliver(MAILBOX, body)
        inbox = await store.folder(MAILBOX, "INBOX")
        uids = list(inbox.uids)
        monkeypatch.setattr(folder_module.os, "rename", rename_then_pause)
        results = []
        for change in (lambda: inbox.settle(uids), lambda: inbox.store_flags(uids, "+", ["\\Flagged"])):
            renamed_one.clear()
            reads_done.clear()
            moving = asyncio.ensure_future(change())
            assert await asyncio.to_thread(renamed_one.wait, WAIT)
            results.append(await inbox.read_many(uids))
            reads_done.set()
            await asyncio.wait_for(moving, WAIT)
        assert [results[0][uid] for uid in uids] == bodies
        return results[0], results[1]

    settled, flagged = asyncio.run(scenario())
    assert settled == flagged and len(flagged) == COUNT
