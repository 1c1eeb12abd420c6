"""Filled by the funds domain."""
