"""The circuit breaker, driven by a fake clock, on memory and on a real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import CircuitOpen
from hub.resilience.circuit_breaker import CircuitBreaker
from hub.resilience.policy import CircuitBreakerPolicy
from hub.state import StateStore
from hub.testing.clock import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(state_store: StateStore) -> StateStore:
    """On memory and on the real Redis (``state_store`` in conftest.py)."""
    return state_store


def policy(**overrides: Any) -> CircuitBreakerPolicy:
    values: dict[str, Any] = {
        "consecutive_failures": 3,
        "minimum_calls": 100,
        "reset_timeout": 30.0,
        "half_open_calls": 2,
    }
    return CircuitBreakerPolicy(**(values | overrides))


def breaker(store: StateStore, clock: FakeClock, **overrides: Any) -> CircuitBreaker:
    return CircuitBreaker("acme", policy(**overrides), store, clock)


async def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        await b.acquire()
        await b.record_failure()


async def test_opens_after_consecutive_failures_and_fails_fast(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(store, clock)
    await fail(b, 2)
    await b.acquire()
    await b.record_success()  # a success breaks the run
    await fail(b, 2)
    assert await b.state_name() == "closed"
    await fail(b, 1)
    assert await b.state_name() == "open"
    with pytest.raises(CircuitOpen) as caught:
        await b.acquire()
    assert caught.value.provider == "acme"
    assert caught.value.retry_in == pytest.approx(30.0)
    assert caught.value.failover_safe
    clock.advance(29)
    with pytest.raises(CircuitOpen) as caught:
        await b.acquire()
    assert caught.value.retry_in == pytest.approx(1.0)


async def test_half_open_admits_only_the_trial_calls_then_closes_on_success(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(store, clock)
    await fail(b, 3)
    clock.advance(30)
    assert await b.state_name() == "half_open"
    await b.acquire()
    await b.acquire()
    with pytest.raises(CircuitOpen, match="trial calls in flight"):
        await b.acquire()
    await b.record_success()
    assert await b.state_name() == "closed"
    for _ in range(5):
        await b.acquire()


async def test_a_failed_trial_reopens_for_the_full_reset_time(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(store, clock)
    await fail(b, 3)
    clock.advance(31)
    await b.acquire()
    await b.record_failure()
    assert await b.state_name() == "open"
    with pytest.raises(CircuitOpen) as caught:
        await b.acquire()
    assert caught.value.retry_in == pytest.approx(30.0)


async def test_a_trial_that_never_reports_frees_its_slot_after_the_reset_time(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(store, clock, half_open_calls=1)
    await fail(b, 3)
    clock.advance(30)
    await b.acquire()  # this trial's caller vanishes
    with pytest.raises(CircuitOpen):
        await b.acquire()
    clock.advance(30)
    await b.acquire()


async def test_a_trial_without_a_verdict_releases_its_slot(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(store, clock, half_open_calls=1)
    await fail(b, 3)
    clock.advance(30)
    await b.acquire()
    await b.release()  # e.g. the trial call was a caller error: no word on the provider
    assert await b.state_name() == "half_open"
    await b.acquire()
    await b.record_success()
    assert await b.state_name() == "closed"
    await b.release()  # harmless when closed
    assert await b.state_name() == "closed"


async def test_failure_rate_opens_only_once_the_minimum_is_reached(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(store, clock, consecutive_failures=100, failure_rate=0.5, minimum_calls=10)
    for _ in range(4):  # 9 calls, 5 failures: above the rate, below the minimum
        await b.record_failure()
        await b.record_success()
    await b.record_failure()
    assert await b.state_name() == "closed"
    await b.record_success()  # 10 calls, 5 failures
    assert await b.state_name() == "closed"  # only a failure can trip it
    await b.record_failure()  # 11 calls, 6 failures
    assert await b.state_name() == "open"


async def test_failure_rate_below_the_threshold_stays_closed(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(store, clock, consecutive_failures=100, failure_rate=0.5, minimum_calls=10)
    for _ in range(4):
        await b.record_failure()
    for _ in range(6):
        await b.record_success()
    assert await b.state_name() == "closed"


async def test_failures_older_than_the_window_slide_out(
    store: StateStore, clock: FakeClock
) -> None:
    b = breaker(
        store, clock, consecutive_failures=100, failure_rate=0.5, minimum_calls=4, window=60
    )
    await b.record_failure()
    await b.record_failure()
    clock.advance(61)
    for _ in range(3):
        await b.record_success()
    await b.record_failure()  # 1 failure in 4 calls within the window; 3 in 6 over all time
    assert await b.state_name() == "closed"


async def test_observers_see_each_transition(store: StateStore, clock: FakeClock) -> None:
    b = breaker(store, clock)
    seen: list[tuple[str, str, str]] = []
    b.on_state_change.append(lambda *change: seen.append(change))
    await fail(b, 3)
    clock.advance(30)
    await b.acquire()
    await b.record_success()
    assert seen == [
        ("acme", "closed", "open"),
        ("acme", "open", "half_open"),
        ("acme", "half_open", "closed"),
    ]


async def test_breakers_on_one_store_share_their_state(store: StateStore, clock: FakeClock) -> None:
    # Two processes with Redis: two breakers for the same provider over one store.
    first, second = breaker(store, clock), breaker(store, clock)
    await fail(first, 3)
    with pytest.raises(CircuitOpen):
        await second.acquire()
    other = CircuitBreaker("other", policy(), store, clock)
    await other.acquire()


async def test_force_open_and_reset(store: StateStore, clock: FakeClock) -> None:
    b = breaker(store, clock)
    await b.force_open(120)
    with pytest.raises(CircuitOpen) as caught:
        await b.acquire()
    assert caught.value.retry_in == pytest.approx(120)
    await b.reset()
    assert await b.state_name() == "closed"
    await b.acquire()
    with pytest.raises(ValueError, match="positive"):
        await b.force_open(0)


async def test_a_disabled_breaker_never_opens(store: StateStore, clock: FakeClock) -> None:
    b = breaker(store, clock, enabled=False)
    await fail(b, 10)
    assert await b.state_name() == "closed"
