"""hub._timers.SharedTimer: same-length timeouts on one TimerHandle, asyncio.timeout's rules."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hub._timers import SharedTimer
from hub.errors import Timeout
from hub.resilience.timeout import AttemptTimeout


class Expired(Exception):
    """What the code under a SharedTimer raises when the timer took its cancellation."""


async def bounded(timer: SharedTimer, seconds: float, *, swallow: bool = False) -> str:
    """Sleep ``seconds`` under ``timer``, the way the pipeline and the aiohttp lane use it."""
    task = asyncio.current_task()
    assert task is not None
    entry = timer.start(task)
    try:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if swallow:
                return "swallowed"
            raise
        return "done"
    except asyncio.CancelledError:
        if timer.expired(entry):
            raise Expired from None
        raise
    finally:
        timer.finish(entry)


def test_each_call_expires_on_its_own_clock_and_one_handle_is_kept() -> None:
    async def main() -> list[Any]:
        timer = SharedTimer(0.1)
        first = asyncio.create_task(bounded(timer, 1.0))
        await asyncio.sleep(0.05)
        quick = asyncio.create_task(bounded(timer, 0.01))
        second = asyncio.create_task(bounded(timer, 1.0))
        results = await asyncio.gather(first, quick, second, return_exceptions=True)
        return [*results, timer._handle, len(timer._inflight)]

    first, quick, second, handle, inflight = asyncio.run(main())
    assert isinstance(first, Expired)
    assert quick == "done"
    assert isinstance(second, Expired)  # after the first, on its own deadline
    assert handle is None  # nothing left scheduled once all ended
    assert inflight == 0


def test_another_cancellation_wins_over_the_timer() -> None:
    """The timer and the caller cancel in the same loop turn: the caller's cancellation is
    what propagates (no Expired), as with asyncio.timeout."""

    async def main() -> BaseException | str:
        loop = asyncio.get_running_loop()
        timer = SharedTimer(0.05)
        task = asyncio.create_task(bounded(timer, 1.0))
        await asyncio.sleep(0)  # the task starts: its entry is due in 0.05 s
        loop.call_later(0.05, task.cancel)  # the caller's own, due at the same time
        time.sleep(0.08)  # noqa: ASYNC251 - block the loop past both: they run in one turn
        try:
            return await task
        except BaseException as exc:  # the test looks at which one
            return exc

    outcome = asyncio.run(main())
    assert isinstance(outcome, asyncio.CancelledError)


def test_a_swallowed_expiry_is_taken_back() -> None:
    async def main() -> tuple[str, int]:
        timer = SharedTimer(0.02)
        task = asyncio.create_task(bounded(timer, 1.0, swallow=True))
        result = await task
        return result, task.cancelling()

    result, cancelling = asyncio.run(main())
    assert result == "swallowed"
    assert cancelling == 0  # no cancellation left pending on the task


def test_an_attempt_timeout_serves_one_loop_after_another() -> None:
    timeout = AttemptTimeout(0.02, total=None, provider="acme")

    async def slow(_: object) -> str:
        await asyncio.sleep(1.0)
        return "late"

    async def quick(_: object) -> str:
        return "ok"

    async def main() -> str:
        with pytest.raises(Timeout, match=r"attempt timeout of 0\.02s"):
            await timeout.run(slow, None)
        return await timeout.run(quick, None)

    assert asyncio.run(main()) == "ok"
    assert asyncio.run(main()) == "ok"  # a new loop gets a timer of its own
