"""SMTP for maild: MX and submission listeners on aiosmtpd (see server.py)."""
