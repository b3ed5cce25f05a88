"""Fault injection shared by every fake provider: ``fail_next(n, error)``, ``fail_rate(p, ...)``
and added latency."""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable, Sequence

import anyio
from pydantic import Field

from hub.errors import HubError, Unavailable
from hub.settings import ProviderSettings

__all__ = ["FakeSettings", "Faults"]


class FakeSettings(ProviderSettings):
    latency: float = Field(0.0, ge=0, description="seconds added to every call")
    emit_events: bool = Field(True, description="emit the events a real vendor would")


ErrorFactory = Callable[[str], HubError]


class Faults:
    """A script of failures a test arms; each provider call consumes one before it runs."""

    def __init__(self, provider: str, latency: float = 0.0) -> None:
        self._provider = provider
        self._queue: deque[HubError | ErrorFactory] = deque()
        self.latency = latency
        #: Every call the provider received, failed or not: (operation, detail).
        self.calls: list[str] = []
        #: Faults raised so far, by error class name.
        self.injected: Counter[str] = Counter()
        self._rate = 0.0
        self._rate_errors: tuple[ErrorFactory, ...] = ()
        self._random = random.Random()

    def fail_next(self, n: int = 1, error: HubError | ErrorFactory | None = None) -> None:
        """Make the next ``n`` calls raise ``error`` (default: a retryable Unavailable)."""
        for _ in range(n):
            self._queue.append(error if error is not None else _unavailable)

    def fail_rate(
        self, rate: float, errors: Sequence[ErrorFactory] = (), *, seed: int | None = None
    ) -> None:
        """Make each call fail with probability ``rate``, raising one of ``errors`` at random.

        ``errors`` are factories ``f(provider) -> HubError`` (a fresh error per fault, as a
        vendor would send); default: a retryable Unavailable. ``seed`` makes the run repeatable.
        ``fail_next`` scripts still come first.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fail_rate needs a probability between 0 and 1, got {rate!r}")
        self._rate = rate
        self._rate_errors = tuple(errors) or (_unavailable,)
        self._random = random.Random(seed)

    def clear(self) -> None:
        """Disarm every scripted and random fault."""
        self._queue.clear()
        self._rate = 0.0

    async def before(self, operation: str) -> None:
        """Run at the top of every fake call: count it, wait, and maybe fail."""
        self.calls.append(operation)
        if self.latency:
            await anyio.sleep(self.latency)
        if self._queue:
            error = self._queue.popleft()
            fault = error if isinstance(error, HubError) else error(self._provider)
        elif self._rate and self._random.random() < self._rate:
            fault = self._random.choice(self._rate_errors)(self._provider)
        else:
            return
        self.injected[type(fault).__name__] += 1
        raise fault


def _unavailable(provider: str) -> HubError:
    return Unavailable("injected fault: vendor unavailable", provider=provider, status=503)
