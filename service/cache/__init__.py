"""Redis: the client, its health (prompter_redis_up, /readyz) and the probe cache built on it. Redis is optional: with
no REDIS_URL nothing here runs and every ensure-version probes the provider."""

from service.cache.client import RedisCache, create_client
from service.cache.health import RedisHealth, RedisHealthCheck
from service.cache.probe_cache import ProbeCache

__all__ = ["ProbeCache", "RedisCache", "RedisHealth", "RedisHealthCheck", "create_client"]
