"""Safe retries: POSTs that carry an ``Idempotency-Key`` header take effect once."""
