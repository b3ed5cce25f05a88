"""Time as a seam: strategies ask a Clock, so tests move time instead of sleeping.

``now()`` is wall-clock unix time because it is compared across processes (breaker and
rate-limit state in Redis); ``monotonic()`` measures local durations; ``sleep()`` waits.
:class:`hub.testing.clock.FakeClock` is the controllable twin.
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


class Clock(Protocol):
    """Where the resilience strategies read time and wait."""

    def now(self) -> float:
        """Wall-clock unix seconds, comparable across processes and machines."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards (local durations)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a checkpoint: other tasks run meanwhile)."""
        ...


class SystemClock:
    """The real clock: ``time.time``, ``time.monotonic`` and ``anyio.sleep``."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
