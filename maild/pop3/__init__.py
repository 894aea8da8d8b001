"""POP3 server (RFC 1939 with CAPA, STLS, AUTH PLAIN and APOP) on the shared mail store."""
from maild.pop3.server import serve_pop3, serve_pop3s

__all__ = ["serve_pop3", "serve_pop3s"]
