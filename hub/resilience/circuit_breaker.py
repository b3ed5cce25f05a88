"""A circuit breaker per provider, kept in the StateStore so every process shares it.

closed ──(``consecutive_failures`` in a row, or failures/calls ≥ ``failure_rate`` over the last
``window`` seconds once ``minimum_calls`` were made)──▶ open ──(``reset_timeout``)──▶ half-open,
which admits at most ``half_open_calls`` trial calls at a time: a trial success closes it, a
trial failure opens it again. A trial that never reports frees its slot after ``reset_timeout``.

The pipeline decides what counts as a failure (caller errors never do); this module only
counts. An admitted call ends in exactly one of ``record_success``, ``record_failure`` or
``release`` (no verdict), so a half-open trial slot is never held longer than needed.
The window is kept in ten slices, so it slides in steps of ``window / 10``.
``on_state_change`` observers see the transitions made by this process; with Redis, another
process may move the shared state too, and :meth:`state_name` always reads the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hub.errors import CircuitOpen

if TYPE_CHECKING:
    from hub.resilience.clock import Clock
    from hub.resilience.policy import CircuitBreakerPolicy
    from hub.state import BreakerEvent, BreakerState, BreakerStep, StateStore

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Fails fast with :class:`~hub.errors.CircuitOpen` while a provider keeps failing."""

    def __init__(
        self,
        provider: str,
        policy: CircuitBreakerPolicy,
        state: StateStore,
        clock: Clock,
        *,
        key_prefix: str = "hub:",
    ) -> None:
        self.provider = provider
        self.policy = policy
        self._state = state
        self._clock = clock
        self._key = f"{key_prefix}breaker:{provider}"
        #: Called as ``observer(provider, old, new)`` on every transition this process makes.
        self.on_state_change: list[Callable[[str, str, str], None]] = []
        #: A store without I/O (memory) steps synchronously: see :meth:`acquire_nowait`.
        self._step_nowait: Callable[..., BreakerStep] | None = getattr(
            state, "breaker_step_nowait", None
        )

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.provider!r})"

    async def acquire(self) -> None:
        """Admit one call, or raise CircuitOpen (open, or every half-open trial slot taken)."""
        if self.policy.enabled:
            self._admit(await self._step("acquire"))

    def acquire_nowait(self) -> bool:
        """:meth:`acquire` where the store needs no I/O; False: ``await acquire()`` instead.

        The pipeline asks this first on every attempt: the memory store's answer then costs
        no coroutines (three per step otherwise, two steps per call).
        """
        if not self.policy.enabled:
            return True
        step = self._step_now("acquire")
        if step is None:
            return False
        self._admit(step)
        return True

    def _admit(self, step: BreakerStep) -> None:
        """Raise CircuitOpen for a step that did not admit the call."""
        if not step.allowed:
            what = "open" if step.after == "open" else "half-open with its trial calls in flight"
            raise CircuitOpen(
                f"the circuit breaker of {self.provider!r} is {what}: failing fast instead of "
                f"calling it; a trial call is let through in {step.retry_in:.1f}s",
                provider=self.provider,
                retry_in=step.retry_in,
            )

    async def record_success(self) -> None:
        if self.policy.enabled:
            await self._step("success")

    def record_success_nowait(self) -> bool:
        """:meth:`record_success` where the store needs no I/O; False: await it instead."""
        return not self.policy.enabled or self._step_now("success") is not None

    async def record_failure(self) -> None:
        if self.policy.enabled:
            await self._step("failure")

    async def release(self) -> None:
        """The admitted call ended with no verdict on the provider (a caller error, a 429,
        a cancellation): free its half-open trial slot without closing or opening."""
        if self.policy.enabled:
            await self._step("release")

    async def state_name(self) -> BreakerState:
        """The state the next call would meet (an expired open state reads as half-open)."""
        if not self.policy.enabled:
            return "closed"
        return (await self._step("peek")).after

    async def force_open(self, seconds: float | None = None) -> None:
        """Open now for ``seconds`` (default: ``reset_timeout``), then trial calls as usual."""
        if seconds is not None and not seconds > 0:
            raise ValueError(f"force_open needs a positive number of seconds, got {seconds!r}")
        await self._step("force_open", open_for=seconds)

    async def reset(self) -> None:
        """Close and forget every count."""
        await self._step("reset")

    async def _step(self, event: BreakerEvent, *, open_for: float | None = None) -> BreakerStep:
        step = await self._state.breaker_step(
            self._key, event, now=self._clock.now(), policy=self.policy, open_for=open_for
        )
        return self._observed(event, step)

    def _step_now(self, event: BreakerEvent) -> BreakerStep | None:
        """One step without awaiting where the store allows it (memory); None: it does not."""
        if self._step_nowait is None:
            return None
        step = self._step_nowait(self._key, event, now=self._clock.now(), policy=self.policy)
        return self._observed(event, step)

    def _observed(self, event: BreakerEvent, step: BreakerStep) -> BreakerStep:
        if event != "peek" and step.before != step.after:
            for observer in self.on_state_change:
                observer(self.provider, step.before, step.after)
        return step
