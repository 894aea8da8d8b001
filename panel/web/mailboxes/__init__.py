"""Mailbox screens: list with usage, create, edit, password reset, delete."""
