"""Timeouts: one per attempt, and a total deadline over a provider's attempts (anyio scopes).

A timeout the hub imposes becomes :class:`hub.errors.Timeout`, like one the transport reports,
so the retry and failover stages decide on it the same way: retried only where the operation is
idempotent; for a payment, an unknown outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from hub.errors import Timeout

__all__ = ["AttemptTimeout", "current_time", "deadline_exceeded"]

R = TypeVar("R")


class AttemptTimeout:
    """Bounds one call to the provider by the attempt timeout, or the total deadline if shorter.

    A provider's first attempt runs under this scope alone (the pipeline enters the deadline
    scope only for retries), so it applies the total deadline too; ``None`` for both leaves it
    unbounded.
    """

    __slots__ = ("attempt", "provider", "seconds", "total")

    def __init__(self, attempt: float | None, *, total: float | None, provider: str) -> None:
        self.attempt = attempt
        self.total = total
        self.provider = provider
        self.seconds = (
            total if attempt is None else attempt if total is None else min(attempt, total)
        )

    def __repr__(self) -> str:
        return f"attempt_timeout({self.attempt:g}s)" if self.attempt else "attempt_timeout(none)"

    async def run(self, invoke: Callable[[Any], Awaitable[R]], target: Any) -> R:
        """``await invoke(target)``, or raise Timeout after ``seconds``."""
        if self.seconds is None:
            return await invoke(target)
        if _in_asyncio_task():
            # asyncio's own timeout costs half of an anyio scope (this is every call's path);
            # anyio 4 scopes around it (deadlines, task groups) tell its cancellation apart.
            scope = asyncio.timeout(self.seconds)
            try:
                async with scope:
                    return await invoke(target)
            except TimeoutError:
                if not scope.expired():
                    raise  # the provider's own TimeoutError, not this timeout
        else:
            with anyio.move_on_after(self.seconds):
                return await invoke(target)
        raise self._timed_out()

    def _timed_out(self) -> Timeout:
        if self.attempt is None or (self.total is not None and self.total < self.attempt):
            return deadline_exceeded(self.provider, self.seconds or 0.0, 1)
        return Timeout(
            f"{self.provider} did not answer within the attempt timeout of {self.seconds:g}s; "
            "raise resilience.timeout.attempt if the vendor is slow but healthy",
            provider=self.provider,
        )


def _in_asyncio_task() -> bool:
    """On asyncio proper (not trio, nor trio as a guest on an asyncio loop: no asyncio task)."""
    try:
        return asyncio.current_task() is not None
    except RuntimeError:  # no asyncio loop running: trio
        return False


def current_time() -> float:
    """``anyio.current_time()``, straight from the loop on asyncio (anyio finds its backend
    through sniffio first, a few µs on every call that has a total deadline)."""
    if _in_asyncio_task():
        return asyncio.get_running_loop().time()
    return anyio.current_time()


def deadline_exceeded(provider: str, seconds: float, attempts: int) -> Timeout:
    """The error for a total deadline that ran out during an attempt."""
    return Timeout(
        f"{provider} gave no result within the total deadline of {seconds:g}s "
        f"({attempts} attempt{'s' if attempts != 1 else ''}); "
        "raise resilience.timeout.total to allow more time for retries",
        provider=provider,
    )
