"""Usage dashboards, history charts, billing and CSV exports (issue 8)."""
