"""xstac-access."""
