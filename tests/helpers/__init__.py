"""Helpers shared by the core tests."""
