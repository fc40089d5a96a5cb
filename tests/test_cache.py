"""The render cache: bytes with validators, bounded by size, one render per missing key."""

from __future__ import annotations

import gzip
import threading
from datetime import UTC, datetime

import pytest

from feedsvc.render.cache import RenderCache, Rendered

WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def entry(body: bytes) -> Rendered:
    return Rendered.make(body, WHEN, "application/rss+xml")


def test_an_entry_carries_its_gzip_twin_and_a_tag_from_its_bytes():
    one, same, other = entry(b"<rss/>" * 100), entry(b"<rss/>" * 100), entry(b"<rss />")
    assert gzip.decompress(one.gzipped) == one.body
    assert one.gzipped == same.gzipped  # no timestamp in the gzip header
    assert one.etag == same.etag != other.etag


def test_a_hit_renders_nothing_and_counts():
    cache = RenderCache(1 << 20)
    renders = []
    first, hit = cache.get("k", lambda: renders.append(1) or entry(b"a"))
    again, hit_again = cache.get("k", lambda: renders.append(1) or entry(b"b"))
    assert (hit, hit_again) == (False, True)
    assert again is first and renders == [1]
    assert (cache.hits, cache.misses) == (1, 1)


def test_peek_answers_only_from_the_cache():
    cache = RenderCache(1 << 20)
    assert cache.peek("k") is None and cache.misses == 0
    stored, _ = cache.get("k", lambda: entry(b"a"))
    assert cache.peek("k") is stored and cache.hits == 1


def test_the_cache_stays_within_its_size_dropping_the_least_recent():
    body = bytes(range(256)) * 40  # ~10 KB that gzip barely shrinks
    size = entry(body + b"0").size
    cache = RenderCache(size * 3)
    for n in range(5):
        cache.get(n, lambda n=n: entry(body + str(n).encode()))
    assert cache.currsize <= size * 3
    assert cache.peek(0) is None and cache.peek(4) is not None


def test_an_entry_larger_than_the_cache_is_served_but_not_kept():
    cache = RenderCache(100)
    served, hit = cache.get("big", lambda: entry(b"x" * 1000))
    assert served.body == b"x" * 1000 and not hit
    assert cache.peek("big") is None


def test_concurrent_misses_for_one_key_render_once():
    cache = RenderCache(1 << 20)
    release = threading.Event()
    renders = []

    def slow() -> Rendered:
        renders.append(1)
        release.wait(5)
        return entry(b"once")

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow)[0])) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert renders == [1]
    assert len(results) == 4 and all(r is results[0] for r in results)


def test_a_failed_render_is_not_kept_and_the_next_request_renders_again():
    cache = RenderCache(1 << 20)

    def broken() -> Rendered:
        raise OSError("disk gone")

    with pytest.raises(OSError):
        cache.get("k", broken)
    stored, hit = cache.get("k", lambda: entry(b"ok"))
    assert stored.body == b"ok" and not hit


def test_clear_forgets_everything():
    cache = RenderCache(1 << 20)
    cache.get("k", lambda: entry(b"a"))
    cache.clear()
    assert cache.peek("k") is None and cache.currsize == 0
