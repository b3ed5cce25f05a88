"""Timeouts: one per attempt, and a total deadline over a provider's attempts.

A timeout the hub imposes becomes :class:`hub.errors.Timeout`, like one the transport reports,
so the retry and failover stages decide on it the same way: retried only where the operation is
idempotent; for a payment, an unknown outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from hub._timers import SharedTimer
from hub.errors import Timeout

__all__ = ["AttemptTimeout", "current_time", "deadline_exceeded"]

R = TypeVar("R")


class AttemptTimeout:
    """Bounds one call to the provider by the attempt timeout, or the total deadline if shorter.

    A provider's first attempt runs under this scope alone (the pipeline enters the deadline
    scope only for retries), so it applies the total deadline too; ``None`` for both leaves it
    unbounded.
    """

    __slots__ = ("_shared", "attempt", "provider", "seconds", "total")

    def __init__(self, attempt: float | None, *, total: float | None, provider: str) -> None:
        self.attempt = attempt
        self.total = total
        self.provider = provider
        self.seconds = (
            total if attempt is None else attempt if total is None else min(attempt, total)
        )
        #: One timer for all of this pipeline's attempts (hub._timers).
        self._shared = SharedTimer(self.seconds) if self.seconds is not None else None

    def __repr__(self) -> str:
        return f"attempt_timeout({self.attempt:g}s)" if self.attempt else "attempt_timeout(none)"

    async def run(self, invoke: Callable[[Any], Awaitable[R]], target: Any) -> R:
        """``await invoke(target)``, or raise Timeout after ``seconds``."""
        shared = self._shared
        if shared is None:
            return await invoke(target)
        task = _asyncio_task()
        if task is None:  # trio, or trio as a guest on asyncio
            with anyio.move_on_after(shared.seconds):
                return await invoke(target)
            raise self._timed_out()
        entry = shared.start(task)
        try:
            return await invoke(target)
        except asyncio.CancelledError:
            # A TimeoutError the provider raises itself is never taken for this one.
            if shared.expired(entry):
                raise self._timed_out() from None
            raise
        finally:
            shared.finish(entry)

    def _timed_out(self) -> Timeout:
        if self.attempt is None or (self.total is not None and self.total < self.attempt):
            return deadline_exceeded(self.provider, self.seconds or 0.0, 1)
        return Timeout(
            f"{self.provider} did not answer within the attempt timeout of {self.seconds:g}s; "
            "raise resilience.timeout.attempt if the vendor is slow but healthy",
            provider=self.provider,
        )


def _asyncio_task() -> asyncio.Task[Any] | None:
    """The running asyncio task; None on trio (or trio as a guest on an asyncio loop)."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # no asyncio loop running: trio
        return None


def current_time() -> float:
    """``anyio.current_time()``, straight from the loop on asyncio (anyio finds its backend
    through sniffio first, a few µs on every call that has a total deadline)."""
    task = _asyncio_task()
    if task is not None:
        return task.get_loop().time()
    return anyio.current_time()


def deadline_exceeded(provider: str, seconds: float, attempts: int) -> Timeout:
    """The error for a total deadline that ran out during an attempt."""
    return Timeout(
        f"{provider} gave no result within the total deadline of {seconds:g}s "
        f"({attempts} attempt{'s' if attempts != 1 else ''}); "
        "raise resilience.timeout.total to allow more time for retries",
        provider=provider,
    )
