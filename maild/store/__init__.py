"""The mail store: Maildirs in Dovecot's layout with a per-folder index and quota usage.

API used by the protocols (they never touch paths themselves):

- `Store(root)`: `await store.deliver(mailbox, data, folder="INBOX")` stores durably, updates
  the quota, indexes the message and wakes IDLE sessions if the folder is open (else it is
  indexed when next opened); `store.usage(mailbox)` -> `Usage(bytes, messages)`, O(1);
  `await store.recalc(mailbox)` recounts from the files.
- `folder = await store.folder(mailbox, "INBOX")`: the shared open `Folder` with
  `folder.uidvalidity`, `folder.uids` (ascending), `folder.message(uid)` (size, flags,
  internal date, modseq, cached ENVELOPE/BODYSTRUCTURE), `await folder.read(uid)` (exact bytes),
  `await folder.append(...)`, `await folder.store_flags(...)`, `await folder.expunge(uids)`, and
  `folder.watch(wake)` for change notifications (POP3 lists INBOX with `uids` and `message`).
"""
from maild.store.folder import Change, Folder, MessageGone, OverQuota, Watcher
from maild.store.index import Message
from maild.store.names import InvalidName
from maild.store.quota import Usage
from maild.store.store import SPECIAL_USE, FolderExists, FolderNotFound, Store

__all__ = [
    "Change", "Folder", "FolderExists", "FolderNotFound", "InvalidName", "Message", "MessageGone",
    "OverQuota", "SPECIAL_USE", "Store", "Usage", "Watcher",
]
