"""Recipients sent per mailbox over the last hour, for the plan's sends-per-hour limit.

Kept in memory: a restart forgives the current hour, which errs towards delivering mail.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW = 3600.0


class SendRate:
    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = WINDOW) -> None:
        self._clock = clock
        self._window = window
        self._sent: dict[int, deque[tuple[float, int]]] = {}

    def sent(self, mailbox_id: int) -> int:
        """Recipients sent by this mailbox within the window."""
        history = self._sent.get(mailbox_id)
        if history is None:
            return 0
        horizon = self._clock() - self._window
        while history and history[0][0] < horizon:
            history.popleft()
        if not history:
            del self._sent[mailbox_id]
            return 0
        return sum(count for _, count in history)

    def record(self, mailbox_id: int, recipients: int) -> None:
        self._sent.setdefault(mailbox_id, deque()).append((self._clock(), recipients))
