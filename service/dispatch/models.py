"""Filled by the dispatch domain."""
