"""speechkit.providers."""
