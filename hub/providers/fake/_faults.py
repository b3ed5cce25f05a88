"""Fault injection shared by every fake provider: ``fail_next(n, error)`` and added latency."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

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

    def fail_next(self, n: int = 1, error: HubError | ErrorFactory | None = None) -> None:
        """Make the next ``n`` calls raise ``error`` (default: a retryable Unavailable)."""
        for _ in range(n):
            self._queue.append(error if error is not None else _unavailable)

    def clear(self) -> None:
        self._queue.clear()

    async def before(self, operation: str) -> None:
        """Run at the top of every fake call: count it, wait, and maybe fail."""
        self.calls.append(operation)
        if self.latency:
            await anyio.sleep(self.latency)
        if self._queue:
            error = self._queue.popleft()
            raise error if isinstance(error, HubError) else error(self._provider)


def _unavailable(provider: str) -> HubError:
    return Unavailable("injected fault: vendor unavailable", provider=provider, status=503)
