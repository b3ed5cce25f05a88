"""The runtime a Hub shares with its services and providers: state, pipeline, events, HTTP.

Providers receive a :class:`ProviderContext` (never the Hub itself), so a plugin depends only
on what it may use: its own settings, a place for files, HTTP clients from ``hub.http``, the
state store and a way to emit events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from hub.observability import Observability
    from hub.resilience.clock import Clock
    from hub.resilience.pipeline import Executor
    from hub.settings import Environment, HubSettings
    from hub.state import StateStore
    from hub.webhooks.dispatcher import Dispatcher
    from hub.webhooks.events import HubEvent

__all__ = ["ProviderContext", "Runtime"]

_log = logging.getLogger("hub.webhooks")


@dataclass(slots=True)
class Runtime:
    """Everything one Hub owns beyond its services; built by :class:`hub.Hub`."""

    settings: HubSettings
    state: StateStore
    executor: Executor
    dispatcher: Dispatcher
    #: Secret values seen in provider settings; redacted wherever the hub writes text.
    secrets: set[str] = field(default_factory=set)
    #: Callbacks run by ``Hub.aclose()`` (HTTP clients and the like).
    closers: list[Callable[[], Any]] = field(default_factory=list)
    #: Where the resilience strategies read time and sleep (a FakeClock in tests).
    clock: Clock = field(default_factory=lambda: _system_clock())
    #: Metrics registry and tracer of this hub (global ones unless injected).
    observability: Observability = field(default_factory=lambda: _observability())


def _system_clock() -> Clock:
    from hub.resilience.clock import SYSTEM_CLOCK

    return SYSTEM_CLOCK


def _observability() -> Observability:
    from hub.observability import Observability

    return Observability()


@dataclass(slots=True)
class ProviderContext:
    """What a provider factory is given besides its validated settings."""

    capability: str
    name: str
    runtime: Runtime

    @property
    def env(self) -> Environment:
        return self.runtime.settings.env

    @property
    def hub_settings(self) -> HubSettings:
        return self.runtime.settings

    @property
    def data_dir(self) -> Path:
        """A directory for this capability's local files (created on demand by the provider)."""
        return self.runtime.settings.data_dir

    @property
    def state(self) -> StateStore:
        return self.runtime.state

    def http_client(self, **options: Any) -> httpx.AsyncClient:
        """A pooled client for this provider, closed with the hub (see :mod:`hub.http`)."""
        from hub.http import open_client

        client = open_client(self, **options)
        self.runtime.closers.append(client.aclose)
        return client

    async def emit(self, event: HubEvent) -> None:
        """Hand an event to the app's handlers, as a vendor's webhook would (local/fake).

        A failing handler never fails the provider call that emitted the event, just as a
        vendor's webhook delivery cannot fail the send; the failure is logged instead.
        """
        try:
            await self.runtime.dispatcher.dispatch(event)
        except Exception:
            _log.exception(
                "a handler for %s from %s failed; the %s call itself succeeded",
                event.type,
                event.provider,
                self.capability,
            )
