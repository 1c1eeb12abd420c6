"""Filled by the assignments domain."""
