"""speechkit: speech-to-text for Python."""
