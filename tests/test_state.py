"""hub.state: the StateStore primitives, the same behaviour on memory and on a real Redis."""

from __future__ import annotations

import anyio
import pytest

from hub.errors import ConfigurationError
from hub.resilience.policy import CircuitBreakerPolicy
from hub.settings import StateSettings
from hub.state import StateStore, open_state_store
from hub.state.memory import MemoryStateStore
from hub.state.redis import RedisStateStore
from hub.testing.clock import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(state_store: StateStore) -> StateStore:
    """On memory and on the real Redis (``state_store`` in conftest.py)."""
    return state_store


async def test_get_set_add_delete(store: StateStore) -> None:
    assert await store.get("k") is None
    assert await store.add("k", b"first")
    assert not await store.add("k", b"second")
    assert await store.get("k") == b"first"
    await store.set("k", b"third")
    assert await store.get("k") == b"third"
    await store.delete("k")
    assert await store.get("k") is None
    assert await store.add("k", b"again")


async def test_delete_if_only_removes_the_expected_value(store: StateStore) -> None:
    await store.set("claim", b"mine")
    assert not await store.delete_if("claim", b"theirs")
    assert await store.get("claim") == b"mine"
    assert await store.delete_if("claim", b"mine")
    assert await store.get("claim") is None
    assert not await store.delete_if("claim", b"mine")


async def test_incr_counts_from_zero(store: StateStore) -> None:
    assert await store.incr("n") == 1
    assert await store.incr("n", 5) == 6
    assert await store.get("n") == b"6"


async def test_concurrent_increments_are_not_lost(store: StateStore) -> None:
    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(store.incr, "n")
    assert await store.get("n") == b"50"


async def test_memory_ttl_follows_the_clock(clock: FakeClock) -> None:
    store = MemoryStateStore(clock=clock)
    await store.set("k", b"v", ttl=10)
    assert await store.incr("n", ttl=10) == 1
    clock.advance(5)
    assert await store.incr("n", ttl=10) == 2  # the ttl is set at creation, not renewed
    assert await store.get("k") == b"v"
    clock.advance(5)
    assert await store.get("k") is None
    assert await store.get("n") is None
    assert await store.add("k", b"new", ttl=1)


async def test_memory_evicts_expired_keys_nobody_reads_again(clock: FakeClock) -> None:
    store = MemoryStateStore(clock=clock)
    for n in range(100):
        await store.set(f"once:{n}", b"v", ttl=10)
    await store.set("kept", b"v")
    await store.set("renewed", b"v", ttl=5)
    clock.advance(4)
    await store.set("renewed", b"v", ttl=10)  # now expires at 14, not 5
    clock.advance(6)
    await store.set("trigger", b"v", ttl=1)  # any write sweeps what has expired
    assert repr(store) == "MemoryStateStore(keys=3)"
    assert await store.get("renewed") == b"v"


@pytest.mark.parametrize(
    "state_store", [pytest.param("redis", marks=pytest.mark.redis)], indirect=True
)
async def test_redis_sets_ttls_in_milliseconds_under_the_prefix(store: StateStore) -> None:
    assert isinstance(store, RedisStateStore)
    await store.set("k", b"v", ttl=2.5)
    await store.incr("n", ttl=10)
    await store.incr("n", ttl=100)
    assert 0 < await store.client.pttl(f"{store.prefix}k") <= 2500
    assert 0 < await store.client.pttl(f"{store.prefix}n") <= 10_000
    assert await store.client.exists("k", "n") == 0  # nothing outside the prefix


async def test_ttl_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ValueError, match="ttl must be a positive"):
        await store.set("k", b"v", ttl=0)


async def test_take_token_reserves_in_arrival_order(store: StateStore) -> None:
    now = 1_000.0
    waits = [
        (await store.take_token("b", now=now, rate=10, burst=2, max_wait=0.25)) for _ in range(5)
    ]
    assert [w.granted for w in waits] == [True, True, True, True, False]
    assert [round(w.wait, 6) for w in waits] == [0.0, 0.0, 0.1, 0.2, 0.3]
    # A refusal takes nothing: a second later the bucket is full again (burst, no more).
    later = [
        await store.take_token("b", now=now + 1.3, rate=10, burst=2, max_wait=0) for _ in "abc"
    ]
    assert [w.granted for w in later] == [True, True, False]


async def test_concurrent_takers_each_get_their_own_slot(store: StateStore) -> None:
    waits: list[float] = []

    async def take() -> None:
        grant = await store.take_token("b", now=50.0, rate=20, burst=1, max_wait=10)
        waits.append(round(grant.wait, 6))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(take)
    assert sorted(waits) == [round(i * 0.05, 6) for i in range(10)]


async def test_breaker_peek_changes_nothing(store: StateStore) -> None:
    policy = CircuitBreakerPolicy(consecutive_failures=1, reset_timeout=10)
    step = await store.breaker_step("br", "failure", now=100.0, policy=policy)
    assert (step.before, step.after) == ("closed", "open")
    peek = await store.breaker_step("br", "peek", now=111.0, policy=policy)
    assert (peek.before, peek.after, peek.allowed) == ("open", "half_open", True)
    admitted = await store.breaker_step("br", "acquire", now=111.0, policy=policy)
    assert (admitted.before, admitted.after, admitted.allowed) == ("open", "half_open", True)


def test_open_state_store_picks_the_backend_by_scheme() -> None:
    assert isinstance(open_state_store(StateSettings(url="memory://")), MemoryStateStore)
    store = open_state_store(StateSettings(url="redis://:s3cret@127.0.0.1:6379/15", prefix="p:"))
    assert isinstance(store, RedisStateStore)
    assert "s3cret" not in repr(store)
    assert repr(store) == "RedisStateStore('redis://127.0.0.1:6379/15', prefix='p:')"


def test_unknown_scheme_names_the_fix_but_not_the_url() -> None:
    with pytest.raises(ConfigurationError, match="HUB_STATE__URL") as caught:
        open_state_store(StateSettings(url="mongodb://user:s3cret@db/0"))
    assert "s3cret" not in str(caught.value)
    assert "mongodb://" in str(caught.value)
