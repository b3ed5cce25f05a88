"""Shared state: breaker state, rate-limit buckets, idempotency records, webhook dedupe keys.

Two backends behind one protocol: ``memory://`` (one process, the default) and ``redis://`` /
``rediss://`` (many processes on many machines share one limit, one breaker, one record).
Every read-modify-write is a single atomic primitive: plain code with no ``await`` inside in
memory, one Lua script in Redis. Strategies pass the time (``now``) from their own Clock, so a
test's fake clock drives the shared state too; TTLs are in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from hub.errors import ConfigurationError

if TYPE_CHECKING:
    from hub.resilience.clock import Clock
    from hub.resilience.policy import CircuitBreakerPolicy
    from hub.settings import StateSettings

__all__ = [
    "BreakerEvent",
    "BreakerState",
    "BreakerStep",
    "StateStore",
    "TokenGrant",
    "open_state_store",
]

BreakerState = Literal["closed", "open", "half_open"]
#: ``peek`` reads only; ``acquire`` admits (or refuses) a call; ``success``/``failure`` record
#: its outcome, ``release`` that it ended without a verdict; ``force_open``/``reset`` are for
#: operators and tests.
BreakerEvent = Literal["peek", "acquire", "success", "failure", "release", "force_open", "reset"]


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """The answer of :meth:`StateStore.take_token`."""

    #: A token was reserved; the caller must wait ``wait`` seconds before using it.
    granted: bool
    #: Seconds until the token is due (granted), or that a token would have needed (refused).
    wait: float


@dataclass(frozen=True, slots=True)
class BreakerStep:
    """The answer of :meth:`StateStore.breaker_step`."""

    before: BreakerState
    after: BreakerState
    #: For ``acquire``: the call may go ahead. For ``peek``: it would.
    allowed: bool
    #: Seconds until a refused call could be admitted (0.0 when allowed).
    retry_in: float


class StateStore(Protocol):
    """Key/value operations with TTLs; every read-modify-write is atomic."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Set ``key`` only if absent; True if this call set it (dedupe, claims)."""
        ...

    async def delete(self, key: str) -> None: ...

    async def delete_if(self, key: str, value: bytes) -> bool:
        """Delete ``key`` only if it still holds ``value`` (release a claim that is still ours)."""
        ...

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` to an integer counter (absent = 0); ``ttl`` applies when it is created."""
        ...

    async def take_token(
        self, key: str, *, now: float, rate: float, burst: int, max_wait: float
    ) -> TokenGrant:
        """Reserve one token of a bucket refilled at ``rate``/s holding at most ``burst``.

        The token is taken only if it is due within ``max_wait`` seconds.
        """
        ...

    async def breaker_step(
        self,
        key: str,
        event: BreakerEvent,
        *,
        now: float,
        policy: CircuitBreakerPolicy,
        open_for: float | None = None,
    ) -> BreakerStep:
        """Apply one event to the circuit breaker stored at ``key`` (see circuit_breaker.py)."""
        ...

    async def aclose(self) -> None: ...


def open_state_store(settings: StateSettings, *, clock: Clock | None = None) -> StateStore:
    """The backend named by ``settings.url``: ``memory://``, ``redis://…`` or ``rediss://…``.

    ``clock`` drives the memory backend's TTLs (a test's FakeClock); Redis expires keys itself.
    """
    scheme = settings.url.split("://", 1)[0].lower() if "://" in settings.url else ""
    if scheme == "memory":
        from hub.state.memory import MemoryStateStore

        return MemoryStateStore(clock=clock)
    if scheme in ("redis", "rediss", "unix"):
        from hub.state.redis import RedisStateStore

        return RedisStateStore.from_url(settings.url, prefix=settings.prefix)
    # The URL may hold a password: name only its scheme.
    shown = f"{scheme}://…" if scheme else "a URL without a scheme"
    raise ConfigurationError(
        f"unknown state store {shown}; set HUB_STATE__URL to memory:// or redis://host:6379/0"
    )
