"""Pydantic v2 models for every response speechkit parses."""
