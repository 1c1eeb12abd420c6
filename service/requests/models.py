"""Filled by the requests domain."""
