"""Filled by the catalogue domain."""
