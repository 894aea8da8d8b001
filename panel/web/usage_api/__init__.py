"""The API a remote mail node pushes its usage reports to."""
