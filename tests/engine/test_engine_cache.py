"""WeakCache: weak values, LRU bound, TTL, eviction callbacks, statistics."""

from __future__ import annotations

import gc

import pytest

from pytest_memguard.engine import WeakCache


class Value:
    def __init__(self, n: int = 0) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Value({self.n})"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_mapping_basics() -> None:
    cache: WeakCache[str, Value] = WeakCache()
    a = Value(1)
    cache["a"] = a
    assert cache["a"] is a
    assert cache.get("a") is a
    assert "a" in cache
    assert len(cache) == 1
    assert cache.keys() == ["a"]
    assert cache.items() == [("a", a)]
    assert cache.values() == [a]
    assert list(cache) == ["a"]
    with pytest.raises(KeyError):
        cache["missing"]
    assert cache.get("missing", "default") == "default"
    assert cache.pop("a") is a
    assert cache.pop("a", None) is None
    with pytest.raises(KeyError):
        cache.pop("a")
    cache.set("b", a)
    cache.clear()
    assert len(cache) == 0


def test_an_entry_goes_when_its_value_is_collected() -> None:
    cache: WeakCache[str, Value] = WeakCache()
    value = Value()
    cache["k"] = value
    del value
    assert "k" not in cache
    assert len(cache) == 0
    assert cache.stats().collected == 1


def test_cyclic_values_go_after_a_collection() -> None:
    cache: WeakCache[str, Value] = WeakCache()
    value = Value()
    value.me = value  # type: ignore[attr-defined]
    cache["k"] = value
    del value
    gc.collect()
    assert cache.get("k") is None
    assert cache.survivors() == []


def test_rewriting_a_key_then_the_old_value_dying_keeps_the_new_entry() -> None:
    cache: WeakCache[str, Value] = WeakCache()
    old, new = Value(1), Value(2)
    cache["k"] = old
    cache["k"] = new
    del old
    assert cache["k"] is new
    assert cache.stats().collected == 0


def test_lru_bound_evicts_the_least_recently_used() -> None:
    evicted: list[tuple[str, Value]] = []
    cache: WeakCache[str, Value] = WeakCache(max_size=2, on_evict=lambda k, v: evicted.append((k, v)))
    a, b, c = Value(1), Value(2), Value(3)
    cache["a"] = a
    cache["b"] = b
    assert cache["a"] is a  # a is now the most recent
    cache["c"] = c
    assert evicted == [("b", b)]
    assert cache.keys() == ["a", "c"]
    assert cache.stats().evictions == 1


def test_ttl_expires_lazily_and_on_writes() -> None:
    clock = Clock()
    evicted: list[str] = []
    cache: WeakCache[str, Value] = WeakCache(ttl=10, on_evict=lambda k, v: evicted.append(k), clock=clock)
    a, b, c = Value(1), Value(2), Value(3)
    cache["a"] = a
    clock.now = 5
    cache["b"] = b
    clock.now = 10
    assert cache["a"] is a
    clock.now = 10.5
    assert cache.get("a") is None
    assert evicted == ["a"]
    clock.now = 16
    cache["c"] = c  # sweeps b, written at 5
    assert evicted == ["a", "b"]
    assert cache.keys() == ["c"]
    stats = cache.stats()
    assert (stats.expirations, stats.size) == (2, 1)


def test_a_rewrite_renews_the_ttl() -> None:
    clock = Clock()
    cache: WeakCache[str, Value] = WeakCache(ttl=10, clock=clock)
    a = Value()
    cache["a"] = a
    clock.now = 8
    cache["a"] = a
    clock.now = 15
    assert "a" in cache
    assert len(cache) == 1


def test_on_evict_may_use_the_cache() -> None:
    seen: list[bool] = []
    cache: WeakCache[str, Value] = WeakCache(
        max_size=1, on_evict=lambda key, value: seen.append(key in cache)
    )
    a, b = Value(1), Value(2)
    cache["a"] = a
    cache["b"] = b
    assert seen == [False]


def test_stats_hit_ratio() -> None:
    cache: WeakCache[str, Value] = WeakCache()
    assert cache.stats().hit_ratio == 0.0
    value = Value()
    cache["a"] = value
    cache.get("a")
    cache.get("b")
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.hit_ratio, stats.size) == (1, 1, 0.5, 1)


def test_survivors_include_expired_live_values() -> None:
    clock = Clock()
    cache: WeakCache[str, Value] = WeakCache(ttl=1, clock=clock)
    value = Value()
    cache["a"] = value
    clock.now = 5
    assert cache.items() == []
    assert cache.survivors() == [("a", value)]


def test_values_that_cannot_be_weakly_referenced() -> None:
    cache: WeakCache[str, object] = WeakCache()
    with pytest.raises(TypeError, match="a list cannot be weakly referenced"):
        cache["a"] = [1, 2]


@pytest.mark.parametrize(("kwargs", "word"), [({"max_size": 0}, "max_size"), ({"ttl": 0}, "ttl")])
def test_bad_arguments(kwargs: dict[str, float], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        WeakCache(**kwargs)  # type: ignore[arg-type]
