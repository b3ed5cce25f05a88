"""Routes HubEvents to the app's handlers, once per vendor event.

Vendors deliver *at least* once: they retry whenever they did not see a 2xx in time, so the same
event arrives again. The dispatcher claims ``(provider, provider_event_id)`` in the state store
before running handlers, so a redelivery (in this process or another sharing a Redis store) runs
them once. The claim is two-phase: ``processing`` with a short TTL while handlers run, then
``done`` for :attr:`Dispatcher.dedupe_ttl`. A handler that raises deletes the claim, so the
vendor's retry runs the event again; a process that dies mid-event frees it when the short TTL
ends. Handlers run in registration order and the first failure stops the event, so a retry runs
the earlier handlers again: write handlers that tolerate a repeat. An event type nobody listens
to costs no state round trip.
"""

from __future__ import annotations

import enum
import hashlib
import inspect
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from hub.errors import HubError, InvalidRequest
from hub.webhooks.events import check_event_prefix, check_event_type

if TYPE_CHECKING:
    from hub._runtime import Runtime
    from hub.state import StateStore
    from hub.webhooks.events import HubEvent

__all__ = ["Delivery", "Dispatcher", "EventHandler"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
EventHandler = Callable[["HubEvent"], Awaitable[Any]]

_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*\.\*|[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_.-]*)$")
_PROCESSING = b"processing:"
_DONE = b"done"


class Delivery(enum.Enum):
    """What happened to one event handed to :meth:`Dispatcher.deliver`."""

    HANDLED = "handled"
    #: Handled before: the handlers did not run again.
    DUPLICATE = "duplicate"
    #: Another delivery of the same event is running right now; ask the vendor to retry later.
    IN_PROGRESS = "in_progress"


def _matches(pattern: str, event_type: str) -> bool:
    if pattern == "*" or pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


class Dispatcher:
    """``on(pattern)`` registers async handlers; ``dispatch(event)`` runs them once per event."""

    #: How long a handled event is remembered; longer than any vendor's retry schedule (days).
    dedupe_ttl: float = 7 * 24 * 3600.0
    #: How long a claim blocks redeliveries while handlers run, if the process dies meanwhile.
    processing_ttl: float = 300.0

    def __init__(
        self, *, dedupe_ttl: float | None = None, processing_ttl: float | None = None
    ) -> None:
        self._handlers: list[tuple[str, EventHandler]] = []
        self._runtime: Runtime | None = None
        if dedupe_ttl is not None:
            self.dedupe_ttl = dedupe_ttl
        if processing_ttl is not None:
            self.processing_ttl = processing_ttl

    def bind(self, runtime: Runtime) -> None:
        """Attach the hub's runtime, whose state store holds the dedupe claims."""
        self._runtime = runtime

    def on(self, pattern: str) -> Callable[[F], F]:
        """Register an async handler for a type, ``"email.*"`` or ``"*"``; returns it unchanged."""
        _check_pattern(pattern)

        def register(handler: F) -> F:
            call = getattr(handler, "__call__", None)  # noqa: B004 - async __call__ objects too
            if not (inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)):
                raise InvalidRequest(
                    f"event handler {handler!r} must be an async function (async def)",
                    field="handler",
                )
            self._handlers.append((pattern, handler))
            return handler

        return register

    def handlers_for(self, event_type: str) -> list[EventHandler]:
        """The handlers an event of ``event_type`` runs, in order."""
        return [h for pattern, h in self._handlers if _matches(pattern, event_type)]

    async def dispatch(self, event: HubEvent) -> bool:
        """Run the handlers for ``event`` once; False if it was (or is being) handled already.

        A handler's exception propagates unchanged, after the claim is released.
        """
        return await self.deliver(event) is Delivery.HANDLED

    async def deliver(self, event: HubEvent) -> Delivery:
        """Like :meth:`dispatch`, telling a duplicate from one still being handled elsewhere."""
        handlers = self.handlers_for(event.type)
        if not handlers:
            return Delivery.HANDLED  # nothing to run twice: spare the state store a round trip
        state = self._state()
        key = _claim_key(event)
        claim = _PROCESSING + uuid.uuid4().bytes  # ours alone, so we release only our claim
        if not await state.add(key, claim, ttl=self.processing_ttl):
            # A claim vanishing between add and get was released by a failed run: retry later.
            seen = await state.get(key)
            return Delivery.DUPLICATE if seen == _DONE else Delivery.IN_PROGRESS
        try:
            for handler in handlers:
                await handler(event)
        except BaseException:
            with anyio.CancelScope(shield=True):  # release the claim even when cancelled
                await state.delete_if(key, claim)
            raise
        await state.set(key, _DONE, ttl=self.dedupe_ttl)
        return Delivery.HANDLED

    def _state(self) -> StateStore:
        if self._runtime is None:
            raise HubError("this dispatcher is not bound to a hub; use hub.on() / hub.dispatch()")
        return self._runtime.state

    def __repr__(self) -> str:
        patterns = ", ".join(pattern for pattern, _ in self._handlers)
        return f"<Dispatcher handlers=[{patterns}]>"


def _check_pattern(pattern: str) -> None:
    if not isinstance(pattern, str) or not _PATTERN.match(pattern):
        raise InvalidRequest(
            f"event pattern {pattern!r} must be an event type ('email.bounced'), "
            "a prefix wildcard ('email.*') or '*'",
            field="pattern",
        )
    try:
        if pattern.endswith(".*"):
            check_event_prefix(pattern[:-2])
        elif pattern != "*":
            check_event_type(pattern)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="pattern") from None


def _claim_key(event: HubEvent) -> str:
    # Hash the vendor's id: it is bounded, safe in any store, and reveals nothing in a key dump.
    digest = hashlib.sha256(event.provider_event_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"webhooks:seen:{event.provider}:{digest[:40]}"
