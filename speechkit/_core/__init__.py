"""speechkit._core."""
