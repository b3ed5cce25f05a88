"""A token bucket per provider, kept in the StateStore so every process shares one limit.

``rate`` tokens per second refill a bucket of ``burst`` (default ``max(1, ceil(rate))``).
:meth:`RateLimiter.acquire` *reserves* the next token at once, in one atomic step, and then
sleeps until it is due: concurrent callers (tasks or processes) queue in arrival order
instead of racing for each refill, and the limit holds exactly whatever the contention. A
token due later than ``max_wait`` is not taken: the call fails with RateLimited and its
``retry_after``. A caller cancelled while it waits forfeits its token (the limit errs low).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hub.errors import RateLimited

if TYPE_CHECKING:
    from hub.resilience.clock import Clock
    from hub.resilience.policy import RateLimitPolicy
    from hub.state import StateStore

__all__ = ["RateLimiter", "default_burst"]


def default_burst(rate: float) -> int:
    """A bucket holds one second's worth of tokens, at least one."""
    return max(1, math.ceil(rate))


class RateLimiter:
    """Waits for a token up to ``policy.max_wait``, then raises :class:`~hub.errors.RateLimited`."""

    def __init__(
        self,
        provider: str,
        policy: RateLimitPolicy,
        state: StateStore,
        clock: Clock,
        *,
        key_prefix: str = "hub:",
    ) -> None:
        self.provider = provider
        self.policy = policy
        self._state = state
        self._clock = clock
        self._key = f"{key_prefix}ratelimit:{provider}"
        self.burst = None if policy.rate is None else policy.burst or default_burst(policy.rate)

    def __repr__(self) -> str:
        return f"RateLimiter({self.provider!r}, rate={self.policy.rate}, burst={self.burst})"

    async def acquire(self) -> float:
        """Take one token; returns the seconds waited for it (0.0 when none, or no limit)."""
        rate, burst = self.policy.rate, self.burst
        if rate is None or burst is None:
            return 0.0
        grant = await self._state.take_token(
            self._key,
            now=self._clock.now(),
            rate=rate,
            burst=burst,
            max_wait=self.policy.max_wait,
        )
        if not grant.granted:
            raise RateLimited(
                f"the hub's rate limit for {self.provider!r} ({rate:g}/s, burst {burst}) has no "
                f"token for {grant.wait:.2f}s, longer than rate_limit.max_wait "
                f"({self.policy.max_wait:g}s); slow down or raise max_wait",
                provider=self.provider,
                retry_after=grant.wait,
            )
        if grant.wait > 0:
            await self._clock.sleep(grant.wait)
        return grant.wait
