"""Filled by the events domain."""
