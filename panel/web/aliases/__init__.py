"""Alias and catch-all screens."""
