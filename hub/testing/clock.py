"""A controllable clock: time moves only when a test says so, or when code sleeps."""

from __future__ import annotations

import anyio.lowlevel

__all__ = ["FakeClock"]


class FakeClock:
    """A :class:`hub.resilience.clock.Clock` whose time advances only on demand.

    ``sleep(s)`` returns at once (after a checkpoint, so other tasks run), moves time forward
    by ``s`` and records ``s`` in :attr:`sleeps`; ``advance(s)`` moves time without sleeping.
    Pass it to ``Hub.from_settings(..., clock=...)`` or to a strategy directly.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._monotonic = 0.0
        #: Every sleep requested, in order, in seconds.
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; got advance({seconds})")
        self._now += seconds
        self._monotonic += seconds

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.advance(seconds)
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"
