"""The idempotency guard: replay, one call per key under concurrency, release on failure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from hub.errors import OutcomeUnknown, Unavailable
from hub.resilience.idempotency import IdempotencyGuard
from hub.resilience.policy import IdempotencyPolicy
from hub.state import StateStore
from hub.state.memory import MemoryStateStore
from hub.testing.clock import FakeClock

pytestmark = pytest.mark.anyio


class Sent(BaseModel):
    id: int
    at: datetime
    raw: Any = None


@pytest.fixture
def store(state_store: StateStore) -> StateStore:
    """On memory and on the real Redis (``state_store`` in conftest.py)."""
    return state_store


class Vendor:
    """Counts deliveries; ``hold`` keeps a call running until released."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0
        self.hold: anyio.Event | None = None
        self.fail_with: Exception | None = None
        #: Set when the first call starts.
        self.entered = anyio.Event()

    async def send(self) -> Sent:
        self.calls += 1
        self.entered.set()
        call = self.calls
        if self.hold is not None:
            with anyio.fail_after(5):
                await self.hold.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return Sent(id=call, at=datetime.fromtimestamp(self.clock.now()), raw={"n": call})


async def wait_until_polled(clock: FakeClock, polls: int) -> None:
    """Until the other callers have polled the claim ``polls`` times (they sleep on ``clock``)."""
    with anyio.fail_after(5):
        while len(clock.sleeps) < polls:  # noqa: ASYNC110 - the fake clock has no event to wait on
            await anyio.sleep(0.001)


def guard(store: StateStore, clock: FakeClock, **policy: Any) -> IdempotencyGuard:
    return IdempotencyGuard(IdempotencyPolicy(**policy), store, clock)


async def test_a_completed_key_replays_the_first_result(
    store: StateStore, clock: FakeClock
) -> None:
    vendor, g = Vendor(clock), guard(store, clock)
    first, replayed = await g.run("email.send", "k1", vendor.send, Sent)
    assert not replayed
    clock.advance(10)
    again, replayed = await g.run("email.send", "k1", vendor.send, Sent)
    assert replayed
    assert again == first
    assert vendor.calls == 1
    other, replayed = await g.run("email.send", "k2", vendor.send, Sent)
    assert (other.id, replayed) == (2, False)
    _, replayed = await g.run("sms.send", "k1", vendor.send, Sent)  # scopes do not collide
    assert not replayed


async def test_concurrent_calls_with_one_key_run_the_call_once(
    store: StateStore, clock: FakeClock
) -> None:
    vendor, g = Vendor(clock), guard(store, clock)
    vendor.hold = anyio.Event()
    results: list[tuple[Sent, bool]] = []

    async def send() -> None:
        results.append(await g.run("email.send", "same", vendor.send, Sent))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(send)
        await wait_until_polled(clock, 8)
        vendor.hold.set()
    assert vendor.calls == 1
    assert sorted(replayed for _, replayed in results) == [False, True, True, True, True]
    assert all(sent == results[0][0] for sent, _ in results)


async def test_a_failure_releases_the_key(store: StateStore, clock: FakeClock) -> None:
    vendor, g = Vendor(clock), guard(store, clock)
    vendor.fail_with = Unavailable("down", provider="acme")
    with pytest.raises(Unavailable):
        await g.run("email.send", "k", vendor.send, Sent)
    vendor.fail_with = None
    sent, replayed = await g.run("email.send", "k", vendor.send, Sent)
    assert (sent.id, replayed, vendor.calls) == (2, False, 2)


async def test_a_waiter_takes_over_when_the_first_call_fails(
    store: StateStore, clock: FakeClock
) -> None:
    failing, succeeding = Vendor(clock), Vendor(clock)
    failing.hold, failing.fail_with = anyio.Event(), Unavailable("down", provider="acme")
    g = guard(store, clock)
    outcome: dict[str, Any] = {}

    async def first() -> None:
        with pytest.raises(Unavailable):
            await g.run("email.send", "k", failing.send, Sent)

    async def second() -> None:
        outcome["second"] = await g.run("email.send", "k", succeeding.send, Sent)

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        await failing.entered.wait()
        group.start_soon(second)
        await wait_until_polled(clock, 2)
        failing.hold.set()
    assert (failing.calls, succeeding.calls) == (1, 1)
    assert outcome["second"][1] is False


async def test_a_waiter_gives_up_after_the_wait_with_outcome_unknown(
    store: StateStore, clock: FakeClock
) -> None:
    vendor, g = Vendor(clock), guard(store, clock, wait=2.0)
    vendor.hold = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(g.run, "email.send", "k", vendor.send, Sent)
        await vendor.entered.wait()
        with pytest.raises(OutcomeUnknown, match="still running") as caught:
            await g.run("email.send", "k", vendor.send, Sent)
        vendor.hold.set()
    assert caught.value.idempotency_key == "k"
    assert sum(clock.sleeps) == pytest.approx(2.0)
    assert vendor.calls == 1


async def test_a_cancelled_call_releases_the_key(store: StateStore, clock: FakeClock) -> None:
    vendor, g = Vendor(clock), guard(store, clock)
    vendor.hold = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(g.run, "email.send", "k", vendor.send, Sent)
        await vendor.entered.wait()
        group.cancel_scope.cancel()
    vendor.hold = None
    _, replayed = await g.run("email.send", "k", vendor.send, Sent)
    assert (replayed, vendor.calls) == (False, 2)


async def test_results_are_forgotten_after_the_ttl(clock: FakeClock) -> None:
    vendor, g = Vendor(clock), guard(MemoryStateStore(clock=clock), clock, ttl=60)
    await g.run("email.send", "k", vendor.send, Sent)
    clock.advance(61)
    _, replayed = await g.run("email.send", "k", vendor.send, Sent)
    assert (replayed, vendor.calls) == (False, 2)


async def test_a_disabled_guard_always_calls(store: StateStore, clock: FakeClock) -> None:
    vendor, g = Vendor(clock), guard(store, clock, enabled=False)
    for _ in range(3):
        assert (await g.run("email.send", "k", vendor.send, Sent))[1] is False
    assert vendor.calls == 3
