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

:class:`DirectSender` is the fast lane of ``HttpProvider.request``: while none of those layers is
active and the transport is httpx-aiohttp's, it hands the request to aiohttp's session without
building httpx's Request or running the client's auth/redirect/cookie machinery, and wraps the
answer in an ``httpx.Response`` (the request it carries is built only if someone reads it).
Measured on loopback that is ~100 µs of CPU less per call than ``client.request`` over the same
aiohttp pool (bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json as jsonlib
import logging
import re
import sys
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import timedelta
from time import perf_counter
from typing import Any, Literal, TypeAlias, cast
from urllib.parse import quote_plus

import httpx
from httpx._utils import primitive_value_to_str

from hub._timers import SharedTimer
from hub.errors import ConfigurationError

__all__ = [
    "JSON_ENCODER",
    "DirectSender",
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
#: httpx's JSON encoding (``httpx._content.encode_json``), built once instead of per request;
#: plugins that assemble a body as text use it too (``hub.http.JSON_ENCODER``).
JSON_ENCODER = jsonlib.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
#: What ``quote_plus`` leaves as it is: a form value made only of these needs no quoting.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
#: ``quote_plus`` of ASCII text as one ``str.translate`` (non-ASCII text goes to quote_plus).
_QUOTE_ASCII = {
    code: "+" if code == 0x20 else f"%{code:02X}"
    for code in range(128)
    if not _UNRESERVED.fullmatch(chr(code))
}


def _form_text(value: object) -> str:
    text = value if isinstance(value, str) else primitive_value_to_str(value)  # type: ignore[arg-type]
    if _UNRESERVED.fullmatch(text):
        return text
    return text.translate(_QUOTE_ASCII) if text.isascii() else quote_plus(text)


def encode_form(data: Mapping[str, Any]) -> bytes:
    """httpx's ``data=`` body byte for byte (lists repeat the name), minus urlencode's generality.

    Form-encoded vendors (Twilio, Stripe, Mailgun) send one per call; this is ~3x quicker.
    """
    pairs: list[str] = []
    for key, value in data.items():
        name = _form_text(key)
        if isinstance(value, list | tuple):
            pairs.extend(f"{name}={_form_text(item)}" for item in value)
        else:
            pairs.append(f"{name}={_form_text(value)}")
    return "&".join(pairs).encode()


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

    def aiohttp_session(self) -> Any:
        """aiohttp's ClientSession when requests may go to it directly, else None.

        Only httpx-aiohttp's own transport qualifies (not a test's stand-in, nor one behind a
        proxy, which it applies per request), and only while no test patches httpx.
        """
        if self._explicit is not None or self._proxy is not None:
            return None
        if self.name is None:
            self._resolve()
        fast: Any = self._fast
        if fast is None or type(fast) is not _real_aiohttp_transport() or httpx_is_patched():
            return None
        if fast.client is None or callable(fast.client):
            fast.client = fast.get_client()  # what its handle_async_request does first
        return fast.client

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

    def aiohttp_session(self) -> Any:
        """aiohttp's session for :class:`DirectSender`, or None while a test layer is active."""
        if transport_override.get() is not None:
            return None
        cassettes = sys.modules.get(_CASSETTES)
        if cassettes is not None and cassettes.current_cassette.get() is not None:
            return None
        return self.real.aiohttp_session()

    async def aclose(self) -> None:
        # Only what the hub owns: cassettes save themselves, overrides belong to the test.
        await self.real.aclose()


def _real_aiohttp_transport() -> Any:
    """httpx-aiohttp's transport class, even while a test stands in for the package."""
    module = sys.modules.get("httpx_aiohttp.transport")
    cls = getattr(module, "AiohttpTransport", None)
    return cls if isinstance(cls, type) else None


class _DirectResponse(httpx.Response):
    """A response whose ``request`` is built on first read: errors and logs need it, the
    success path does not, and building an httpx.Request costs ~50 µs (URL parsing)."""

    _pending: tuple[str, str, dict[str, str], bytes | None] | None = None

    @property
    def request(self) -> httpx.Request:
        if self._request is None and self._pending is not None:
            method, url, headers, body = self._pending
            self._request = httpx.Request(method, url, headers=headers, content=body)
        return super().request

    @request.setter
    def request(self, value: httpx.Request) -> None:
        self._request = value


class DirectSender:
    """Sends one client's requests straight to aiohttp's session (see the module docstring).

    Built per client by :meth:`for_client`, which says None where the client relies on httpx
    machinery this lane skips (an ``httpx.Auth`` flow, event hooks). Bodies are encoded by
    httpx's own encoder, so both lanes send the same bytes and headers.
    """

    __slots__ = ("_base", "_encode", "_headers", "_map_errors", "_read", "_timeout")

    def __init__(self, client: httpx.AsyncClient, encode: Any, aiohttp: Any, errors: Any) -> None:
        self._base = str(client.base_url).rstrip("/") + "/"  # as httpx joins relative paths
        self._headers = dict(client.headers.items())  # lower-case names
        timeout = client.timeout
        # As httpx-aiohttp maps httpx.Timeout, but for the read timeout: aiohttp re-arms a
        # timer on every read, two TimerHandles per response that linger in the loop's heap
        # (GC work); one shared timer bounds the whole exchange by it instead (hub._timers).
        self._timeout = aiohttp.ClientTimeout(sock_connect=timeout.connect, connect=timeout.pool)
        self._read = SharedTimer(timeout.read) if timeout.read is not None else None
        self._encode = encode
        self._map_errors = errors

    @classmethod
    def for_client(cls, client: httpx.AsyncClient) -> DirectSender | None:
        if client.auth is not None or any(client.event_hooks.values()) or not client.base_url:
            return None
        try:
            import aiohttp
            from httpx._content import encode_request  # byte-for-byte what httpx sends
            from httpx_aiohttp.transport import map_aiohttp_exceptions
        except ImportError:
            return None
        return cls(client, encode_request, aiohttp, map_aiohttp_exceptions)

    def accepts(self, path: str, params: object, files: object, content: object) -> bool:
        """Whether this lane can send the request (else the caller uses the client)."""
        return (
            params is None
            and files is None
            and (content is None or isinstance(content, bytes))
            and not path.startswith(("http://", "https://"))
        )

    async def send(
        self,
        session: Any,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        content: bytes | None,
    ) -> httpx.Response:
        """Send on ``session``; aiohttp's errors become httpx's, as httpx-aiohttp maps them."""
        url = self._base + path.lstrip("/")
        merged = self._headers.copy()
        body: bytes | None = None
        if json is not None and data is None and content is None:
            body = JSON_ENCODER.encode(json).encode()  # the bytes and headers httpx would send
            merged["content-length"] = str(len(body))
            merged["content-type"] = "application/json"
        elif data and json is None and content is None:
            body = encode_form(data)
            merged["content-length"] = str(len(body))
            merged["content-type"] = "application/x-www-form-urlencoded"
        elif json is not None or data is not None or content is not None:
            body_headers, stream = self._encode(content=content, data=data, json=json)
            body = b"".join(stream)
            for name, value in body_headers.items():
                merged[name.lower()] = value
        if headers:
            for name, value in headers.items():
                merged[name.lower()] = value
        started = perf_counter()
        read = self._read
        task = cast("asyncio.Task[Any]", asyncio.current_task())  # aiohttp runs in a task
        entry = None if read is None else read.start(task)
        try:
            async with session.request(
                method,
                url,
                headers=merged,
                data=body,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=self._timeout,
            ) as answer:
                raw = await answer.read()
        except asyncio.CancelledError:
            if read is not None and entry is not None and read.expired(entry):
                raise httpx.ReadTimeout(
                    f"no complete answer within the read timeout of {read.seconds:g}s"
                ) from None
            raise
        except Exception:
            with self._map_errors():
                raise
            raise  # not an aiohttp error: as it was
        finally:
            if read is not None and entry is not None:
                read.finish(entry)
        extensions = {"http_version": b"HTTP/1.1"}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode()
        response = _DirectResponse(
            answer.status,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(raw),
            extensions=extensions,
        )
        if "content-encoding" in response.headers:
            response.read()  # httpx's decoders (aiohttp was told not to decompress)
        else:  # what read() would leave, without its decoder and chunker machinery (~20 µs)
            response._content = raw
            response.is_stream_consumed = response.is_closed = True
            response._num_bytes_downloaded = len(raw)
        response._pending = (method, url, merged, body)
        response.elapsed = timedelta(seconds=perf_counter() - started)
        return response
