"""Resellers and their first staff login (admin only)."""
