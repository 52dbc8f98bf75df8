"""speechkit.realtime."""
