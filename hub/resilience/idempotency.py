"""The hub remembers idempotency keys for vendors that do not (most email and SMS APIs).

One record per ``(scope, key)`` in the StateStore, shared by every process with Redis:

- absent: the first caller *claims* it (set-if-absent) and makes the call;
- claimed: a concurrent caller polls (``clock.sleep`` in small steps) up to ``policy.wait``
  for the first to finish, then returns its result, or raises OutcomeUnknown if it is still
  running;
- done: the stored first result (JSON) is returned without calling, for ``policy.ttl`` seconds.

A failed (or cancelled) call releases its claim, so a later call may try again. The claim
itself expires after ``claim_ttl`` (default ``max(policy.wait, 60)`` seconds) so a crashed
process cannot block a key forever: keep the call's total deadline below it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio
from pydantic import BaseModel

from hub.errors import OutcomeUnknown

if TYPE_CHECKING:
    from hub.resilience.clock import Clock
    from hub.resilience.policy import IdempotencyPolicy
    from hub.state import StateStore

__all__ = ["IdempotencyGuard"]

R = TypeVar("R", bound=BaseModel)

_CLAIMED = b"c:"
_DONE = b"d:"
_POLL_FIRST = 0.01
_POLL_MAX = 0.1


class IdempotencyGuard:
    """Runs a call at most once per key and replays its first result."""

    def __init__(
        self,
        policy: IdempotencyPolicy,
        state: StateStore,
        clock: Clock,
        *,
        key_prefix: str = "hub:",
        claim_ttl: float | None = None,
        provider: str = "",
    ) -> None:
        self.policy = policy
        #: The provider this guard stands in front of, named by the OutcomeUnknown it raises.
        self.provider = provider
        self._state = state
        self._clock = clock
        self._prefix = f"{key_prefix}idem:"
        self.claim_ttl = claim_ttl if claim_ttl is not None else max(policy.wait, 60.0)

    def __repr__(self) -> str:
        return f"IdempotencyGuard(ttl={self.policy.ttl:g}, wait={self.policy.wait:g})"

    async def run(
        self,
        scope: str,
        key: str,
        call: Callable[[], Awaitable[R]],
        result_type: type[R],
    ) -> tuple[R, bool]:
        """``(result, replayed)``: the call's result, or the first one stored under ``key``."""
        if not self.policy.enabled:
            return await call(), False
        record = f"{self._prefix}{scope}:{key}"
        claim = _CLAIMED + uuid.uuid4().hex.encode()
        deadline = self._clock.monotonic() + self.policy.wait
        step = _POLL_FIRST
        while not await self._state.add(record, claim, ttl=self.claim_ttl):
            found = await self._state.get(record)
            if found is None:
                continue  # released or expired in between: try to claim it again
            if found.startswith(_DONE):
                return result_type.model_validate_json(found[len(_DONE) :]), True
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise OutcomeUnknown(
                    f"another {scope} call with idempotency key {key!r} is still running after "
                    f"{self.policy.wait:g}s; retry later with the same key to get its result",
                    provider=self.provider,
                    idempotency_key=key,
                )
            await self._clock.sleep(min(step, remaining))
            step = min(step * 2, _POLL_MAX)
        try:
            result = await call()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._state.delete_if(record, claim)
            raise
        # Stored outside the try: if storing fails the claim stays, so nobody repeats the call.
        done = _DONE + result.model_dump_json(fallback=repr).encode()
        await self._state.set(record, done, ttl=self.policy.ttl)
        return result, False
