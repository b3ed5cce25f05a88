"""Routes HubEvents to the app's handlers."""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from hub._runtime import Runtime
    from hub.webhooks.events import HubEvent

__all__ = ["Dispatcher"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class Dispatcher:
    def __init__(self) -> None:
        self._handlers: list[tuple[str, Callable[[HubEvent], Awaitable[Any]]]] = []
        self._runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def on(self, pattern: str) -> Callable[[F], F]:
        def register(handler: F) -> F:
            self._handlers.append((pattern, handler))
            return handler

        return register

    async def dispatch(self, event: HubEvent) -> bool:
        for pattern, handler in self._handlers:
            if fnmatch.fnmatchcase(event.type, pattern):
                await handler(event)
        return True
