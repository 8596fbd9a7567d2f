"""The test runs' Redis cache: `clear()` empties this run's keys, not the whole database.

Django's RedisCache.clear() is FLUSHDB. Two test runs sharing one Redis (CI's neighbours, or
helpers on one machine) would then empty each other's caches mid-test, and a test that warms
a cache and counts queries sees a miss it did not cause.
"""

from django.core.cache.backends.redis import RedisCache


class RunRedisCache(RedisCache):
    def clear(self) -> bool:
        client = self._cache.get_client(None, write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        return True
