"""Mail servers (nodes): tier, capacity and dedicated owner (admin only)."""
