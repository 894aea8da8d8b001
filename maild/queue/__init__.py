"""maild's outbound queue: durable spool, MX routing, SMTP client, retries and RFC 3464 bounces.

`Queue` is the entry point (see `maild.queue.worker`); the daemon creates one on its data
directory, runs `queue.run()` as a task and calls `await queue.enqueue(sender, recipients, data)`.
"""
from maild.queue.worker import Queue

__all__ = ["Queue"]
