"""The rate limiter, driven by a fake clock, on memory and on a real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import RateLimited
from hub.resilience.policy import RateLimitPolicy
from hub.resilience.rate_limit import RateLimiter
from hub.state import StateStore
from hub.testing.clock import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(state_store: StateStore) -> StateStore:
    """On memory and on the real Redis (``state_store`` in conftest.py)."""
    return state_store


def limiter(store: StateStore, clock: FakeClock, **policy: Any) -> RateLimiter:
    return RateLimiter("acme", RateLimitPolicy(**policy), store, clock)


async def test_a_burst_goes_through_then_calls_are_spaced(
    store: StateStore, clock: FakeClock
) -> None:
    limit = limiter(store, clock, rate=10, burst=5)
    assert [await limit.acquire() for _ in range(5)] == [0.0] * 5
    assert clock.sleeps == []
    waited = [await limit.acquire() for _ in range(3)]
    assert waited == pytest.approx([0.1, 0.1, 0.1])
    assert clock.sleeps == pytest.approx([0.1, 0.1, 0.1])


async def test_the_bucket_refills_to_the_burst_and_no_further(
    store: StateStore, clock: FakeClock
) -> None:
    limit = limiter(store, clock, rate=2, burst=3)
    for _ in range(3):
        await limit.acquire()
    clock.advance(3600)
    assert [await limit.acquire() for _ in range(3)] == [0.0] * 3
    assert await limit.acquire() == pytest.approx(0.5)


async def test_a_wait_above_max_wait_is_refused_with_retry_after(
    store: StateStore, clock: FakeClock
) -> None:
    limit = limiter(store, clock, rate=1, burst=1, max_wait=0.5)
    await limit.acquire()
    with pytest.raises(RateLimited, match="max_wait") as caught:
        await limit.acquire()
    assert caught.value.provider == "acme"
    assert caught.value.retry_after == pytest.approx(1.0)
    assert caught.value.retryable
    assert clock.sleeps == []  # refused at once, not after waiting
    clock.advance(0.6)  # now due in 0.4 s: the refusal took no token
    assert await limit.acquire() == pytest.approx(0.4)


async def test_default_burst_is_one_second_of_tokens(store: StateStore, clock: FakeClock) -> None:
    limit = limiter(store, clock, rate=2.5)
    assert limit.burst == 3
    assert [await limit.acquire() for _ in range(3)] == [0.0] * 3
    assert await limit.acquire() == pytest.approx(0.4)
    assert limiter(store, clock, rate=0.2).burst == 1


async def test_no_rate_means_no_limit(store: StateStore, clock: FakeClock) -> None:
    limit = limiter(store, clock)
    assert [await limit.acquire() for _ in range(1000)] == [0.0] * 1000


async def test_limiters_on_one_store_share_the_bucket(store: StateStore, clock: FakeClock) -> None:
    first = limiter(store, clock, rate=1, burst=1, max_wait=0)
    second = limiter(store, clock, rate=1, burst=1, max_wait=0)
    await first.acquire()
    with pytest.raises(RateLimited):
        await second.acquire()
    await RateLimiter("other", RateLimitPolicy(rate=1), store, clock).acquire()
