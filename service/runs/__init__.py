"""Batch dispatch runs: solve a scope's open requests off the request path, preview, commit."""
