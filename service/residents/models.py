"""Filled by the residents domain."""
