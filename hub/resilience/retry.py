"""Retries on the same provider, through stamina, entered only after a first attempt failed.

The pipeline makes the first attempt itself; stamina's machinery (~13 µs a call) starts only
when that attempt raised an error :meth:`RetryStage.wants` to retry, which is then replayed as
stamina's first attempt so its attempt count, backoff and ``timeout`` stay exact.

stamina owns backoff (jittered exponential, ``attempts``, total time). The hub owns two things:

- *What is retried* (:func:`is_retryable`): RateLimited and Unavailable; Timeout only where the
  operation is idempotent (or the error proves nothing was sent); never caller errors, declines
  or an open circuit.
- *Retry-After*. stamina would wait whatever an ``on=`` hook returns, uncapped by ``wait_max``,
  so the hook checks the vendor's value first: above ``retry_after_max``, or beyond the time left
  before the total deadline, the call is not retried and the RateLimited propagates (refused, not
  waited). Otherwise the hook tells stamina to wait 0 and the next attempt sleeps the value
  through the hub's :class:`~hub.resilience.clock.Clock`, so ``FakeClock.sleeps`` shows the wait
  in tests and production sleeps it for real.

One stamina retry hook (:func:`install_retry_hook`) reports each scheduled retry to the call it
belongs to (found through a context variable), which counts it and adds a span event.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio
import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from hub.errors import (
    AuthenticationError,
    CircuitOpen,
    HubError,
    InvalidRequest,
    NotFound,
    PaymentDeclined,
    Timeout,
)

if TYPE_CHECKING:
    from hub.capabilities._service import Operation
    from hub.resilience.clock import Clock
    from hub.resilience.policy import RetryPolicy

__all__ = ["RetryObserver", "RetryStage", "install_retry_hook", "is_retryable", "retry_hook"]

R = TypeVar("R")

_NEVER = (InvalidRequest, AuthenticationError, PaymentDeclined, NotFound, CircuitOpen)


def is_retryable(op: Operation, exc: BaseException, *, honours_keys: bool = True) -> bool:
    """May the same provider be asked again after ``exc``?

    A Timeout may mean the request arrived: it is repeated only when repeating is harmless — a
    read, or a call whose idempotency key the vendor itself honours (``honours_keys``: the
    provider declares the ``idempotency`` feature). A key the vendor ignores protects later
    calls (the hub remembers it) but not a retry inside this one, which could deliver twice.
    """
    if isinstance(exc, Timeout):
        keyed = op.idempotency_key is not None and honours_keys
        return op.idempotent or keyed or exc.retryable
    if isinstance(exc, _NEVER):
        return False
    return isinstance(exc, HubError) and exc.retryable


class RetryObserver(Protocol):
    """Told about every retry that is scheduled (metrics, span events)."""

    def retry_scheduled(self, error: Exception, wait: float) -> None: ...


class RetryStage:
    """The retry policy of one provider, built once and shared by its calls."""

    __slots__ = ("clock", "honours_keys", "policy", "total")

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        *,
        total: float | None,
        honours_keys: bool = True,
    ) -> None:
        self.policy = policy
        self.clock = clock
        #: The vendor deduplicates idempotency keys itself (the ``idempotency`` feature).
        self.honours_keys = honours_keys
        #: The total deadline, handed to stamina as its ``timeout``.
        self.total = total

    def __repr__(self) -> str:
        return f"retry(attempts={self.policy.attempts})"

    def wants(self, op: Operation, exc: Exception) -> bool:
        """Is a first failure worth entering the retry machinery for?"""
        return self.policy.attempts > 1 and is_retryable(op, exc, honours_keys=self.honours_keys)

    async def retry(
        self,
        op: Operation,
        observer: RetryObserver,
        first: Exception,
        attempt: Callable[..., Awaitable[R]],
        *args: Any,
    ) -> R:
        """Retry ``attempt(*args)`` after its first attempt failed with ``first``."""
        policy = self.policy
        run = _RetryRun(op, policy, observer, self.honours_keys)
        replay: Exception | None = first
        token = _ACTIVE.set(run)
        try:
            async for retrying in stamina.retry_context(
                on=run.classify,
                attempts=policy.attempts,
                timeout=self.total,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
                wait_exp_base=policy.wait_exp_base,
            ):
                with retrying:
                    if replay is not None:
                        # Replay the failure that brought us here as stamina's attempt 1.
                        error, replay = replay, None
                        raise error
                    if run.pending_wait:
                        wait, run.pending_wait = run.pending_wait, 0.0
                        await self.clock.sleep(wait)
                    return await attempt(*args)
        finally:
            _ACTIVE.reset(token)
        raise AssertionError("unreachable: stamina ends with a result or an error")


class _RetryRun:
    """The state of one call's retries: its classifying hook and the Retry-After to sleep."""

    __slots__ = ("honours_keys", "observer", "op", "pending_wait", "policy")

    def __init__(
        self, op: Operation, policy: RetryPolicy, observer: RetryObserver, honours_keys: bool
    ) -> None:
        self.op = op
        self.honours_keys = honours_keys
        self.policy = policy
        self.observer = observer
        #: Retry-After the next attempt sleeps through the Clock before it starts.
        self.pending_wait = 0.0

    def classify(self, exc: Exception) -> bool | float:
        """stamina's ``on=`` hook: False stops, True backs off, a float is our own wait."""
        if not is_retryable(self.op, exc, honours_keys=self.honours_keys):
            return False
        retry_after: float | None = getattr(exc, "retry_after", None)
        if retry_after is None:
            self.pending_wait = 0.0
            return True
        ceiling = self.policy.retry_after_max
        if retry_after > ceiling:
            _note(
                exc,
                f"not retried: Retry-After {retry_after:g}s is above retry_after_max={ceiling:g}s",
            )
            return False
        left = _time_left()
        if retry_after > left:
            _note(exc, f"not retried: Retry-After {retry_after:g}s is beyond the total deadline")
            return False
        self.pending_wait = max(0.0, retry_after)
        return 0.0

    def scheduled(self, details: RetryDetails) -> None:
        wait = self.pending_wait or details.wait_for
        self.observer.retry_scheduled(details.caused_by, wait)


def _time_left() -> float:
    deadline = anyio.current_effective_deadline()
    return math.inf if deadline == math.inf else deadline - anyio.current_time()


def _note(exc: Exception, note: str) -> None:
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)


_ACTIVE: ContextVar[_RetryRun | None] = ContextVar("hub_retry_run", default=None)


def retry_hook(details: RetryDetails) -> None:
    """The stamina retry hook: reports retries of hub calls; ignores any other stamina use."""
    run = _ACTIVE.get()
    if run is not None:
        run.scheduled(details)


_installed = False


def install_retry_hook() -> None:
    """Make :func:`retry_hook` stamina's retry hook (once per process).

    It replaces stamina's defaults (``stamina_retries_total`` and a log line); an app that wants
    those for its own stamina calls too can pass ``[retry_hook, *its_hooks]`` to
    ``stamina.instrumentation.set_on_retry_hooks`` itself.
    """
    global _installed
    if not _installed:
        set_on_retry_hooks([retry_hook])
        _installed = True
