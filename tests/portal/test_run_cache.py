"""A test run empties only its own keys in a Redis it may share with other runs."""

import pytest
from django.core.cache import cache


def test_emptying_the_cache_leaves_another_runs_keys_alone():
    if not hasattr(cache, "_cache") or not hasattr(cache._cache, "get_client"):
        pytest.skip("the cache is not Redis here (REDIS_URL unset)")
    client = cache._cache.get_client(None, write=True)
    client.set("another-run:1:page-cache:generation", b"7")
    cache.set("mine", 1)
    try:
        cache.clear()
        assert cache.get("mine") is None
        assert client.get("another-run:1:page-cache:generation") == b"7"
    finally:
        client.delete("another-run:1:page-cache:generation")
