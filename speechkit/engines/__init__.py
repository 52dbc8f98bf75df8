"""speechkit.engines."""
