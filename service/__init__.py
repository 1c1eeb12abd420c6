"""Wushe service: the FastAPI application around the solver."""
