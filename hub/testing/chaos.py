"""Chaos for HTTP vendors: a transport that injects the faults the resilience pipeline handles.

``ChaosTransport`` wraps another transport (or a ``MockTransport``-style handler) and, by a
seeded rate or by a script, injects latency, status codes (with or without ``Retry-After``),
refused connections, connections reset after the request left, and read timeouts, counting
what it injected. Use it directly as a client's transport, or around every hub client::

    chaos = ChaosTransport(rate=0.2, seed=7)
    with chaos.active():               # every provider client of the hub, via hub.http
        await hub.email.send(...)
    assert chaos.injected["status_503"] > 0

``reached=True`` faults (the default for resets and read timeouts) forward the request first and
lose the answer: the vendor acted, the caller cannot know — the case idempotency keys and
``OutcomeUnknown`` exist for. The fake providers get the same faults through
``provider.faults.fail_next(...)`` / ``fail_rate(...)``.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import httpx

from hub._transports import override_transport
from hub.resilience.clock import SYSTEM_CLOCK

if TYPE_CHECKING:
    from hub.resilience.clock import Clock

__all__ = ["DEFAULT_FAULTS", "ChaosTransport", "Fault"]

FaultKind = Literal["latency", "status", "connect_error", "reset", "read_timeout"]
Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


def _header_value(retry_after: float | str) -> str:
    """Retry-After as sent: seconds (``"2"``) or an HTTP-date string, as given."""
    if isinstance(retry_after, str):
        return retry_after
    return f"{retry_after:g}"


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault; build them with the class methods."""

    kind: FaultKind
    status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    #: The request reaches the vendor before the fault (the answer is what gets lost).
    reached: bool = False

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Delay the request by ``seconds`` (through the chaos clock), then pass it on."""
        return cls("latency", seconds=seconds, reached=True)

    @classmethod
    def http_status(cls, status: int, *, retry_after: float | str | None = None) -> Fault:
        """Answer ``status`` without asking the vendor; ``retry_after`` in seconds or HTTP-date."""
        value = None if retry_after is None else _header_value(retry_after)
        return cls("status", status=status, retry_after=value)

    @classmethod
    def connect_error(cls) -> Fault:
        """Refuse the connection: nothing was sent."""
        return cls("connect_error")

    @classmethod
    def reset(cls, *, reached: bool = True) -> Fault:
        """Drop the connection without an answer (after the vendor got it, by default)."""
        return cls("reset", reached=reached)

    @classmethod
    def read_timeout(cls, *, reached: bool = True) -> Fault:
        """Time out waiting for the answer (after the vendor got the request, by default)."""
        return cls("read_timeout", reached=reached)

    @property
    def label(self) -> str:
        """The key of :attr:`ChaosTransport.injected` this fault counts under."""
        if self.kind == "status":
            return f"status_{self.status}" + ("_retry_after" if self.retry_after else "")
        return self.kind


#: The mix ``rate`` draws from unless told otherwise.
DEFAULT_FAULTS: tuple[Fault, ...] = (
    Fault.http_status(503),
    Fault.http_status(429, retry_after=1),
    Fault.http_status(429),
    Fault.connect_error(),
    Fault.reset(),
    Fault.read_timeout(),
    Fault.latency(0.05),
)


class _Chaos:
    """What every transport a ChaosTransport hands out shares: dice, script and counters."""

    def __init__(self, rate: float, faults: Sequence[Fault], seed: int | None, clock: Clock):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate is a probability between 0 and 1, got {rate!r}")
        if rate and not faults:
            raise ValueError("a rate needs at least one fault to draw from")
        self.rate = rate
        self.faults = tuple(faults)
        self.random = random.Random(seed)
        self.clock = clock
        self.script: deque[Fault | None] = deque()
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self.forwarded = 0

    def next_fault(self) -> Fault | None:
        self.requests += 1
        if self.script:
            return self.script.popleft()
        if self.rate and self.random.random() < self.rate:
            return self.random.choice(self.faults)
        return None


class ChaosTransport(httpx.AsyncBaseTransport):
    """An httpx transport that injects faults in front of ``inner``."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | Handler | None = None,
        *,
        rate: float = 0.0,
        faults: Sequence[Fault] = DEFAULT_FAULTS,
        seed: int | None = None,
        script: Iterable[Fault | None] = (),
        clock: Clock = SYSTEM_CLOCK,
        _chaos: _Chaos | None = None,
    ) -> None:
        if inner is not None and not isinstance(inner, httpx.AsyncBaseTransport):
            inner = httpx.MockTransport(inner)
        self._inner = inner
        self._owns_inner = _chaos is None
        self._chaos = _chaos if _chaos is not None else _Chaos(rate, faults, seed, clock)
        self._chaos.script.extend(script)

    # -- counters ---------------------------------------------------------------------------

    @property
    def injected(self) -> Counter[str]:
        """Faults injected so far, by :attr:`Fault.label`."""
        return self._chaos.injected

    @property
    def requests(self) -> int:
        """Requests seen, faulted or not."""
        return self._chaos.requests

    @property
    def forwarded(self) -> int:
        """Requests that reached the inner transport (the vendor)."""
        return self._chaos.forwarded

    # -- arming -----------------------------------------------------------------------------

    def then(self, *faults: Fault | None) -> ChaosTransport:
        """Script the next requests: each takes one fault (``None`` lets one through)."""
        self._chaos.script.extend(faults)
        return self

    def wrap(self, inner: httpx.AsyncBaseTransport) -> ChaosTransport:
        """A transport in front of ``inner`` that shares this one's dice, script and counters."""
        return ChaosTransport(inner, _chaos=self._chaos)

    @contextmanager
    def active(self) -> Iterator[ChaosTransport]:
        """Put this chaos in front of every hub provider client inside the block."""
        with override_transport(self.wrap):
            yield self

    # -- the transport ----------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._chaos.next_fault()
        if fault is None:
            return await self._forward(request)
        self._chaos.injected[fault.label] += 1
        if fault.kind == "latency":
            await self._chaos.clock.sleep(fault.seconds)
            return await self._forward(request)
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return httpx.Response(
                fault.status,
                headers=headers,
                json={"error": {"message": f"injected by ChaosTransport: {fault.status}"}},
                request=request,
            )
        if fault.kind == "connect_error":
            raise httpx.ConnectError("injected: connection refused", request=request)
        if fault.reached:
            response = await self._forward(request)
            await response.aclose()
        if fault.kind == "reset":
            raise httpx.RemoteProtocolError(
                "injected: server disconnected without sending a response", request=request
            )
        raise httpx.ReadTimeout("injected: timed out reading the response", request=request)

    async def _forward(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            raise RuntimeError(
                "this ChaosTransport has no inner transport: pass one (or a handler), "
                "or use chaos.active() / chaos.wrap(inner)"
            )
        self._chaos.forwarded += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._owns_inner and self._inner is not None:
            await self._inner.aclose()

    def __repr__(self) -> str:
        chaos = self._chaos
        return (
            f"<ChaosTransport rate={chaos.rate:g} requests={chaos.requests} "
            f"injected={dict(chaos.injected)}>"
        )
