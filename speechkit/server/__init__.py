"""speechkit.server."""
