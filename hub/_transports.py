"""The transport under every provider client: the real one chosen late, test layers per request.

A request passes, outermost first, through:

1. :data:`transport_override`, when a test set it (``hub.testing.chaos`` uses it): a transport
   that replaces everything below, or a wrapper ``factory(inner) -> transport`` called once per
   client and inner (so a wrapper may keep state) and never closed by the hub;
2. the active cassette (``hub.testing.cassettes.current_cassette``), recording through layer 3;
3. the real transport: the one passed to ``open_client(transport=...)``, else httpx-aiohttp's or
   httpx's own pool, chosen on the first request because only then is the event loop known.

Layers 1 and 2 are looked up per request, so a cassette or override set after the hub was built
still applies, and the testing modules are never imported unless a test imported them.

``auto`` picks aiohttp only on asyncio with ``httpx-aiohttp`` installed. Whatever was picked, a
request goes through ``httpx.AsyncHTTPTransport`` while a test patches it (pytest-httpx's
``httpx_mock``) or httpcore's pool (respx), so those mocks keep intercepting every plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Literal, TypeAlias

import httpx

from hub.errors import ConfigurationError

__all__ = [
    "HubTransport",
    "RealTransport",
    "TransportChoice",
    "TransportOverride",
    "environment_proxy",
    "httpx_is_patched",
    "override_transport",
    "require_aiohttp",
    "transport_override",
]

TransportChoice: TypeAlias = Literal["auto", "httpx", "aiohttp"]
TransportOverride: TypeAlias = (
    httpx.AsyncBaseTransport | Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]
)

#: A transport (or wrapper factory) every provider client uses instead of its own; for tests.
transport_override: ContextVar[TransportOverride | None] = ContextVar(
    "hub_transport_override", default=None
)

_CASSETTES = "hub.testing.cassettes"
_HTTPX_HANDLER = "AsyncHTTPTransport.handle_async_request"
_HTTPCORE_HANDLER = "AsyncConnectionPool.handle_async_request"
_INSTALL_HINT = "pip install httpx-aiohttp"
_logger = logging.getLogger("hub.http")


@contextlib.contextmanager
def override_transport(value: TransportOverride) -> Iterator[TransportOverride]:
    """Set :data:`transport_override` inside the block (task-local, nests)."""
    token = transport_override.set(value)
    try:
        yield value
    finally:
        transport_override.reset(token)


def httpx_is_patched() -> bool:
    """Whether a test replaced httpx's or httpcore's request handler (pytest-httpx, respx).

    Compared by qualified name, so it holds whatever was imported first; checked per request
    on the aiohttp path only (well under a microsecond).
    """
    handler = httpx.AsyncHTTPTransport.handle_async_request
    if getattr(handler, "__qualname__", None) != _HTTPX_HANDLER:
        return True
    core: Any = sys.modules.get("httpcore")  # httpx imports it lazily
    return core is not None and (
        getattr(core.AsyncConnectionPool.handle_async_request, "__qualname__", None)
        != _HTTPCORE_HANDLER
    )


def require_aiohttp() -> Any:
    """The ``httpx_aiohttp`` module, or a ConfigurationError saying how to install it."""
    try:
        return importlib.import_module("httpx_aiohttp")
    except ImportError as exc:
        raise ConfigurationError(
            f"http transport 'aiohttp' (HUB_HTTP__TRANSPORT=aiohttp) needs the httpx-aiohttp "
            f"package: {_INSTALL_HINT}, or set HUB_HTTP__TRANSPORT=auto ({exc})"
        ) from None


def environment_proxy(base_url: str) -> httpx.Proxy | None:
    """The proxy HTTP(S)_PROXY/ALL_PROXY name for ``base_url``'s host, honouring NO_PROXY.

    httpx applies environment proxies only to clients it builds a transport for; the hub builds
    its own, so it reads them here (for the base URL's host) to keep that behaviour.
    """
    url = httpx.URL(base_url)
    if not url.host or urllib.request.proxy_bypass(url.host):
        return None
    proxies = urllib.request.getproxies()
    address = proxies.get(url.scheme) or proxies.get("all")
    if not address:
        return None
    return httpx.Proxy(address if "://" in address else f"http://{address}")


def _on_asyncio() -> bool:
    trio: Any = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return False  # trio, possibly as a guest on an asyncio loop
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class RealTransport(httpx.AsyncBaseTransport):
    """The transport that talks to the network, resolved on the first request."""

    def __init__(
        self,
        choice: TransportChoice,
        *,
        limits: httpx.Limits,
        proxy: httpx.Proxy | None = None,
        explicit: httpx.AsyncBaseTransport | None = None,
        label: str = "",
    ) -> None:
        self._choice = choice
        self._limits = limits
        self._proxy = proxy
        self._explicit = explicit
        self._label = label
        self._fast: httpx.AsyncBaseTransport | None = None
        self._default: httpx.AsyncBaseTransport | None = None
        #: "aiohttp", "httpx" or "custom" once resolved; None before the first request.
        self.name: str | None = "custom" if explicit is not None else None

    def _resolve(self) -> None:
        on_asyncio = _on_asyncio()
        if self._choice == "aiohttp" and not on_asyncio:
            raise ConfigurationError(
                "http transport 'aiohttp' needs an asyncio event loop, but this runs on another "
                "one (trio?); set HUB_HTTP__TRANSPORT=auto or httpx"
            )
        module = None
        if self._choice == "aiohttp":
            module = require_aiohttp()
        elif self._choice == "auto" and on_asyncio:
            with contextlib.suppress(ImportError):
                module = importlib.import_module("httpx_aiohttp")
        if module is not None:
            self._fast = module.AiohttpTransport(limits=self._limits, proxy=self._proxy)
        self.name = "aiohttp" if module is not None else "httpx"
        _logger.debug("%s: HTTP transport %s (setting %r)", self._label, self.name, self._choice)

    def _pick(self) -> httpx.AsyncBaseTransport:
        if self._explicit is not None:
            return self._explicit
        if self.name is None:
            self._resolve()
        if self._fast is not None and not httpx_is_patched():
            return self._fast
        if self._default is None:
            self._default = httpx.AsyncHTTPTransport(limits=self._limits, proxy=self._proxy)
        return self._default

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pick().handle_async_request(request)

    async def aclose(self) -> None:
        for transport in (self._explicit, self._fast, self._default):
            if transport is not None:
                await transport.aclose()


class HubTransport(httpx.AsyncBaseTransport):
    """Routes each request through the override and cassette layers, if set, to the real one."""

    def __init__(self, real: RealTransport) -> None:
        self.real = real
        self._cassette: tuple[object, httpx.AsyncBaseTransport] | None = None
        self._wrapped: tuple[object, object, httpx.AsyncBaseTransport] | None = None

    def _layers(self) -> httpx.AsyncBaseTransport:
        transport: httpx.AsyncBaseTransport = self.real
        cassettes = sys.modules.get(_CASSETTES)  # imported only by tests that use cassettes
        if cassettes is not None:
            cassette = cassettes.current_cassette.get()
            if cassette is not None:
                if self._cassette is None or self._cassette[0] is not cassette:
                    self._cassette = (cassette, cassette.wrap(self.real))
                transport = self._cassette[1]
        override = transport_override.get()
        if override is None:
            return transport
        if isinstance(override, httpx.AsyncBaseTransport):
            return override
        cached = self._wrapped
        if cached is None or cached[0] is not override or cached[1] is not transport:
            cached = self._wrapped = (override, transport, override(transport))
        return cached[2]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._layers().handle_async_request(request)

    async def aclose(self) -> None:
        # Only what the hub owns: cassettes save themselves, overrides belong to the test.
        await self.real.aclose()
