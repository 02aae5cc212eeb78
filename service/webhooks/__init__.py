"""Events and webhooks: the transactional outbox (outbox.py), the endpoints API (handlers -> service -> repository),
the SSRF rule for endpoint URLs (urls.py) and the delivery worker (worker.py: claims.py, sender.py, backoff.py)."""
