"""Per-client budgets: bounded memory, an injected clock, and off when the rate is 0."""

from __future__ import annotations

import threading

import pytest

from feedsvc.web.clients import Budget, client_key, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate():
    clock = Clock()
    budget = Budget(rate=2.0, burst=3, clock=clock)
    assert [budget.take("a") for _ in range(3)] == [0, 0, 0]
    assert budget.take("a") == pytest.approx(0.5)  # one token comes every half second
    clock.now += 0.5
    assert budget.take("a") == 0
    assert budget.take("a") > 0


def test_refused_requests_spend_nothing():
    clock = Clock()
    budget = Budget(rate=1.0, burst=1, clock=clock)
    budget.take("a")
    for _ in range(100):
        assert budget.take("a") > 0
    clock.now += 1.0
    assert budget.take("a") == 0


def test_the_saved_allowance_never_exceeds_the_burst():
    clock = Clock()
    budget = Budget(rate=1.0, burst=2, clock=clock)
    budget.take("a")
    clock.now += 3600
    assert [budget.take("a") > 0 for _ in range(3)] == [False, False, True]


def test_clients_have_their_own_buckets():
    budget = Budget(rate=1.0, burst=1, clock=Clock())
    assert budget.take("a") == 0 and budget.take("b") == 0
    assert budget.take("a") > 0 and budget.take("b") > 0


def test_memory_is_bounded_by_the_number_of_keys():
    budget = Budget(rate=1.0, burst=1, max_keys=100, clock=Clock())
    for n in range(10_000):
        budget.take(n)
    assert len(budget) == 100


def test_a_rate_of_zero_is_off():
    budget = Budget(rate=0, burst=1, clock=Clock())
    assert not budget.enabled
    assert all(budget.take("a") == 0 for _ in range(1000))
    assert len(budget) == 0


def test_concurrent_takes_never_spend_more_than_there_is():
    budget = Budget(rate=1e-9, burst=500, clock=Clock())
    granted = []

    def spend():
        granted.extend(1 for _ in range(200) if budget.take("a") == 0)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(granted) == 500


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_rounded_up(seconds, header):
    assert retry_after(seconds) == header


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("not an address", "not an address"),
    ],
)
def test_ipv6_clients_are_keyed_by_their_64(address, key):
    assert client_key(address) == key
