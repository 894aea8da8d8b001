"""The IMAP4rev1 server (RFC 3501 with IDLE, UIDPLUS, MOVE, QUOTA, CONDSTORE...) on the shared store."""
from maild.imap.server import serve_imap, serve_imaps

__all__ = ["serve_imap", "serve_imaps"]
