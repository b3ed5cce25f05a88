"""The in-process state store (default): one process, nothing shared.

Each primitive runs without an ``await`` between its read and its write, so concurrent tasks
on one event loop can never interleave inside it: that is the whole of its atomicity. The
token bucket and the breaker here are the reference for the Lua twins in ``redis.py``.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub.resilience.clock import SYSTEM_CLOCK, Clock
from hub.state import BreakerEvent, BreakerState, BreakerStep, TokenGrant

if TYPE_CHECKING:
    from hub.resilience.policy import CircuitBreakerPolicy

__all__ = ["BUCKET_KEEP", "WINDOW_SLICES", "MemoryStateStore", "check_ttl"]

#: The failure-rate window is kept as this many slices, each ``window / WINDOW_SLICES`` long.
WINDOW_SLICES = 10
#: Seconds a rate-limit bucket outlives the moment it would be full again (harmless, and it
#: keeps a bucket alive while a test's fake clock runs ahead of the server's).
BUCKET_KEEP = 60.0


_ADMITTED = BreakerStep("closed", "closed", True, 0.0)


def check_ttl(ttl: float | None) -> None:
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}")


@dataclass(slots=True)
class _Breaker:
    state: BreakerState = "closed"
    open_until: float = 0.0
    consecutive: int = 0
    trials: int = 0
    trial_at: float = 0.0
    #: slice number -> [calls, failures]
    slices: dict[int, list[int]] = field(default_factory=dict)

    def trip(self, until: float) -> None:
        self.state, self.open_until = "open", until
        self.consecutive = self.trials = 0
        self.slices = {}

    def pristine(self) -> bool:
        return self.state == "closed" and not self.consecutive and not self.slices


def _slice(now: float, policy: CircuitBreakerPolicy) -> int:
    """The number of the window slice ``now`` falls in."""
    return math.floor(now / (policy.window / WINDOW_SLICES))


def _record(b: _Breaker, failed: bool, now: float, policy: CircuitBreakerPolicy) -> None:
    """Count one outcome in the closed state and trip if a threshold is reached."""
    current = _slice(now, policy)
    counts = b.slices.get(current)
    if counts is None:  # a new slice: the ones it pushes out of the window go
        b.slices = {n: c for n, c in b.slices.items() if n > current - WINDOW_SLICES}
        counts = b.slices[current] = [0, 0]
    counts[0] += 1
    if not failed:
        b.consecutive = 0
        return
    counts[1] += 1
    b.consecutive += 1
    calls = sum(c[0] for c in b.slices.values())
    failures = sum(c[1] for c in b.slices.values())
    rate_hit = calls >= policy.minimum_calls and failures >= policy.failure_rate * calls
    if b.consecutive >= policy.consecutive_failures or rate_hit:
        b.trip(now + policy.reset_timeout)


def breaker_step(
    b: _Breaker,
    event: BreakerEvent,
    now: float,
    policy: CircuitBreakerPolicy,
    open_for: float | None,
) -> BreakerStep:
    """The breaker's state machine; mutates ``b`` (pass a copy to only look)."""
    before = b.state
    if b.state == "open" and now >= b.open_until:
        b.state, b.trials = "half_open", 0
    if (
        b.state == "half_open"
        and b.trials >= policy.half_open_calls
        and now - b.trial_at >= policy.reset_timeout
    ):
        b.trials = 0  # the trial's lease ran out: it never reported, let another one try
    allowed, retry_in = True, 0.0
    if event in ("peek", "acquire"):
        if b.state == "open":
            allowed, retry_in = False, b.open_until - now
        elif b.state == "half_open":
            if b.trials >= policy.half_open_calls:
                allowed, retry_in = False, b.trial_at + policy.reset_timeout - now
            elif event == "acquire":
                b.trials += 1
                b.trial_at = now
    elif event in ("success", "failure"):
        failed = event == "failure"
        if b.state == "half_open":
            if failed:
                b.trip(now + policy.reset_timeout)
            else:
                b.state, b.trials, b.consecutive, b.slices = "closed", 0, 0, {}
        elif b.state == "closed":
            _record(b, failed, now, policy)
        # open: a late answer of a call admitted before the trip changes nothing
    elif event == "release":
        if b.state == "half_open" and b.trials > 0:
            b.trials -= 1
    elif event == "force_open":
        b.trip(now + (policy.reset_timeout if open_for is None else open_for))
    else:  # reset
        b.state, b.trials, b.consecutive, b.slices = "closed", 0, 0, {}
    return BreakerStep(before, b.state, allowed, max(0.0, retry_in))


def breaker_ttl(b: _Breaker, now: float, policy: CircuitBreakerPolicy) -> float:
    """How long a breaker record must live: its window, its open time and a trial lease."""
    return policy.window + policy.reset_timeout + max(0.0, b.open_until - now)


class MemoryStateStore:
    """Dict-backed; TTLs follow ``clock.monotonic()`` so a FakeClock expires keys too.

    Expired keys vanish when read, and every write also evicts the keys whose time has
    passed (a heap holds one entry per key with a TTL), so keys never read again do not pile
    up in a long-running process.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock if clock is not None else SYSTEM_CLOCK
        self._data: dict[str, tuple[bytes | _Breaker, float | None]] = {}
        self._expiries: list[tuple[float, str]] = []
        self._scheduled: set[str] = set()

    def __repr__(self) -> str:
        return f"MemoryStateStore(keys={len(self._data)})"

    def _live(self, key: str) -> bytes | _Breaker | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self._clock.monotonic():
            del self._data[key]
            return None
        return value

    def _bytes(self, key: str) -> bytes | None:
        value = self._live(key)
        if isinstance(value, _Breaker):
            raise TypeError(f"state key {key!r} holds a circuit breaker, not bytes")
        return value

    def _put(self, key: str, value: bytes | _Breaker, ttl: float | None) -> None:
        check_ttl(ttl)
        now = self._clock.monotonic()
        self._evict(now)
        expires = None if ttl is None else now + ttl
        self._data[key] = (value, expires)
        if expires is not None and key not in self._scheduled:
            self._scheduled.add(key)
            heapq.heappush(self._expiries, (expires, key))

    def _evict(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, key = heapq.heappop(self._expiries)
            item = self._data.get(key)
            if item is not None and item[1] is not None and item[1] > now:
                heapq.heappush(self._expiries, (item[1], key))  # its TTL moved on
                continue
            self._scheduled.discard(key)
            if item is not None and item[1] is not None:
                del self._data[key]

    async def get(self, key: str) -> bytes | None:
        return self._bytes(key)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._put(key, value, ttl)

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def delete_if(self, key: str, value: bytes) -> bool:
        if self._live(key) != value:
            return False
        del self._data[key]
        return True

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        current = self._bytes(key)
        value = (0 if current is None else int(current)) + amount
        if current is None:
            self._put(key, str(value).encode(), ttl)
        else:
            self._data[key] = (str(value).encode(), self._data[key][1])
        return value

    async def take_token(
        self, key: str, *, now: float, rate: float, burst: int, max_wait: float
    ) -> TokenGrant:
        # GCRA: the bucket is one number, the "theoretical arrival time" of the next token,
        # in microseconds so that waits come out exact (unix seconds carry ~2e-7 s of noise).
        now_us, interval = round(now * 1e6), 1e6 / rate
        stored = self._bytes(key)
        due = max(now_us, float(stored) if stored is not None else now_us) + interval
        wait = max(0.0, math.floor(due - burst * interval - now_us + 0.5)) / 1e6
        if wait > max_wait:
            return TokenGrant(granted=False, wait=wait)
        self._put(key, repr(due).encode(), (due - now_us) / 1e6 + BUCKET_KEEP)
        return TokenGrant(granted=True, wait=wait)

    async def breaker_step(
        self,
        key: str,
        event: BreakerEvent,
        *,
        now: float,
        policy: CircuitBreakerPolicy,
        open_for: float | None = None,
    ) -> BreakerStep:
        return self.breaker_step_nowait(key, event, now=now, policy=policy, open_for=open_for)

    def breaker_step_nowait(
        self,
        key: str,
        event: BreakerEvent,
        *,
        now: float,
        policy: CircuitBreakerPolicy,
        open_for: float | None = None,
    ) -> BreakerStep:
        """:meth:`breaker_step` without awaiting: this store has no I/O, and the breaker
        steps twice in every call (see ``CircuitBreaker.acquire_nowait``)."""
        if event == "acquire":
            item = self._data.get(key)
            if item is None or (type(item[0]) is _Breaker and item[0].state == "closed"):
                # Admitting a call to a closed breaker changes nothing: nothing to write (this
                # is every call's path, so it skips the state machine and the TTL bookkeeping).
                return _ADMITTED
        elif event == "success":
            item = self._data.get(key)
            b = item[0] if item is not None else None
            if type(b) is _Breaker and b.state == "closed":
                counts = b.slices.get(_slice(now, policy))
                if counts is not None:
                    # A success in a slice that exists: the record was written (and its TTL
                    # renewed) when the slice began, so counting it is all there is to do.
                    counts[0] += 1
                    b.consecutive = 0
                    return _ADMITTED
        found = self._live(key)
        if found is not None and not isinstance(found, _Breaker):
            raise TypeError(f"state key {key!r} holds bytes, not a circuit breaker")
        b = _Breaker() if found is None else found
        if event == "peek":
            b = dataclasses.replace(b)
        step = breaker_step(b, event, now, policy, open_for)
        if event != "peek":
            if b.pristine():
                self._data.pop(key, None)
            else:
                self._put(key, b, breaker_ttl(b, now, policy))
        return step

    async def aclose(self) -> None:
        self._data.clear()
        self._expiries.clear()
        self._scheduled.clear()
