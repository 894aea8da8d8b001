"""The audit log, scoped to what the actor may read."""
