"""hub.http: provider clients (transport choice, test layers, lifecycle) and HttpProvider errors."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import anyio
import anyio.abc
import httpx
import pytest
from anyio.abc import SocketAttribute
from httpx._content import encode_urlencoded_data
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

import hub
from hub._runtime import ProviderContext
from hub._transports import encode_form, environment_proxy
from hub.errors import (
    AuthenticationError,
    ConfigurationError,
    HubError,
    InvalidRequest,
    NotFound,
    PaymentDeclined,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
)
from hub.http import (
    HttpProvider,
    RateLimitInfo,
    json_options,
    override_transport,
    parse_rate_limit,
    parse_retry_after,
    transport_name,
    transport_override,
)
from hub.plugins import ProviderSpec, Registry, default_registry
from hub.settings import HubSettings, ProviderSettings

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]

API_KEY = "sk_test_EchoedKey1234567890"
BASE = "https://api.acme.test/v1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- a vendor plugin built on HttpProvider -------------------------------------------------


class AcmeSettings(ProviderSettings):
    api_key: SecretStr = SecretStr(API_KEY)
    base_url: str = BASE
    http: dict[str, Any] | None = None


class AcmeEmail(HttpProvider):
    """The smallest vendor: bearer auth, default error hooks."""

    base_url = BASE

    def __init__(self, settings: AcmeSettings, context: ProviderContext, **options: Any) -> None:
        token = settings.api_key.get_secret_value()
        headers = {"Authorization": f"Bearer {token}"}
        super().__init__(context, base_url=settings.base_url, headers=headers, **options)


class FaultyVendorEmail(AcmeEmail):
    """A vendor with its own error body ``{"fault": {"text", "id"}}`` and 402 declines."""

    unavailable_503_failover_safe = False

    def error_message(self, response: httpx.Response) -> str:
        return str(response.json()["fault"]["text"])

    def vendor_code(self, response: httpx.Response) -> str | None:
        return str(response.json()["fault"]["id"])

    def map_error(self, response: httpx.Response) -> HubError | None:
        if response.status_code == 402:
            return self.provider_error(
                PaymentDeclined,
                response,
                f"declined: {self.error_message(response)}",
                decline_code="insufficient_funds",
            )
        return None


def _registry(extra: dict[str, str] | None = None) -> Registry:
    base = default_registry()
    providers = dict(base.providers)
    plugins = {"acme": "AcmeEmail", "faulty": "FaultyVendorEmail", **(extra or {})}
    for name, cls in plugins.items():
        providers[("email", name)] = ProviderSpec(
            "email", name, f"{__name__}:{cls}", f"{__name__}:AcmeSettings"
        )
    return Registry(capabilities=dict(base.capabilities), providers=providers)


def make_hub(
    provider: str = "acme",
    section: dict[str, Any] | None = None,
    *,
    registry_extra: dict[str, str] | None = None,
    **overrides: Any,
) -> hub.Hub:
    """A test hub whose email goes to ``provider`` (a plugin defined in this module)."""
    email = {"provider": provider, provider: section or {}}
    settings = HubSettings.load(env="test", email=email, **overrides)
    return hub.Hub(settings, registry=_registry(registry_extra))


@pytest.fixture
async def acme() -> AsyncIterator[AcmeEmail]:
    async with make_hub() as h:
        yield cast(AcmeEmail, h.email.provider)


@pytest.fixture
def no_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import httpx_aiohttp`` fail, installed or not."""
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)


class StubAiohttpTransport(httpx.AsyncBaseTransport):
    """Stands in for httpx_aiohttp.AiohttpTransport: answers 200 "via aiohttp"."""

    instances: list[StubAiohttpTransport] = []

    def __init__(self, *, limits: httpx.Limits, proxy: httpx.Proxy | None) -> None:
        self.limits = limits
        self.requests: list[httpx.Request] = []
        self.closed = False
        StubAiohttpTransport.instances.append(self)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, text="via aiohttp")

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def stub_aiohttp(monkeypatch: pytest.MonkeyPatch) -> type[StubAiohttpTransport]:
    """Install a fake ``httpx_aiohttp`` module, so the selection runs without the package."""
    module = types.ModuleType("httpx_aiohttp")
    module.AiohttpTransport = StubAiohttpTransport  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", module)
    StubAiohttpTransport.instances = []
    return StubAiohttpTransport


async def _fail(provider: HttpProvider, method: str = "POST", **kwargs: Any) -> HubError:
    with pytest.raises(HubError) as info:
        await provider.request(method, "/mail", json={"to": "ada@example.com"}, **kwargs)
    return info.value


# -- status codes -> errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "retryable", "failover_safe"),
    [
        (400, InvalidRequest, False, False),
        (422, InvalidRequest, False, False),
        (409, InvalidRequest, False, False),
        (401, AuthenticationError, False, True),
        (403, AuthenticationError, False, True),
        (404, NotFound, False, False),
        (408, Timeout, True, True),
        (429, RateLimited, True, True),
        (500, Unavailable, True, False),
        (502, Unavailable, True, False),
        (504, Unavailable, True, False),
        (503, Unavailable, True, True),
        (501, ProviderError, False, True),
        (418, ProviderError, False, False),
    ],
)
async def test_status_maps_to_error_type_and_flags(
    acme: AcmeEmail,
    httpx_mock: HTTPXMock,
    status: int,
    error_type: type[HubError],
    retryable: bool,
    failover_safe: bool,
) -> None:
    httpx_mock.add_response(status_code=status, json={"message": "nope", "code": "E1"})
    error = await _fail(acme)
    assert type(error) is error_type
    assert (error.retryable, error.failover_safe) == (retryable, failover_safe)
    assert "nope" in str(error)
    assert f"HTTP {status}" in str(error)
    assert "acme" in str(error)
    raw = cast(Any, error).raw
    assert raw["status"] == status
    assert raw["vendor_code"] == "E1"
    assert cast(Any, error).vendor_code == "E1"
    if isinstance(error, ProviderError):
        assert error.status == status
        assert error.provider == "acme"


async def test_expected_statuses_return_the_response(
    acme: AcmeEmail, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=202, json={"id": "m1"})
    httpx_mock.add_response(status_code=200, json={"id": "m2"})
    response = await acme.request("POST", "/mail", json={}, idempotency_key="k-1")
    assert response.json() == {"id": "m1"}
    sent = httpx_mock.get_requests()[0]
    assert sent.url == "https://api.acme.test/v1/mail"
    assert sent.headers["Idempotency-Key"] == "k-1"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    with pytest.raises(ProviderError, match="unexpected answer") as info:
        await acme.request("GET", "/mail/m2", expected=(204,))
    assert not info.value.retryable


async def test_vendor_503_semantics_can_say_processed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, json={"fault": {"text": "busy", "id": "B"}})
    async with make_hub("faulty") as h:
        error = await _fail(cast(HttpProvider, h.email.provider))
    assert isinstance(error, Unavailable)
    assert error.retryable
    assert not error.failover_safe


# -- Retry-After and rate-limit headers ----------------------------------------------------

NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:28:30 GMT", 90.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:27:10 2015", 10.0),  # asctime, GMT by definition
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # already past: go now
        ("-1", None),
        ("soon", None),
        ("", None),
        ("inf", None),
        ("nan", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


async def test_retry_after_seconds_on_429(acme: AcmeEmail, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "2"})
    error = await _fail(acme)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 2.0
    assert "retry after 2 s" in str(error)


async def test_retry_after_http_date_on_503(acme: AcmeEmail, httpx_mock: HTTPXMock) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    httpx_mock.add_response(status_code=503, headers={"Retry-After": format_datetime(when, True)})
    error = await _fail(acme)
    assert isinstance(error, Unavailable)
    assert error.retry_after is not None
    assert 115 <= error.retry_after <= 120


async def test_garbage_retry_after_is_ignored(acme: AcmeEmail, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "in a while"})
    error = await _fail(acme)
    assert isinstance(error, RateLimited)
    assert error.retry_after is None
    assert "slow down" in str(error)


async def test_rate_limit_headers_reach_the_error(acme: AcmeEmail, httpx_mock: HTTPXMock) -> None:
    reset = int(datetime.now(UTC).timestamp()) + 30
    headers = {
        "X-RateLimit-Limit": "600",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    }
    httpx_mock.add_response(status_code=429, headers=headers)
    error = await _fail(acme)
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None
    assert 28 <= error.retry_after <= 30
    info = error.raw["rate_limit"]
    assert (info["limit"], info["remaining"]) == (600, 0)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"RateLimit-Limit": "100", "RateLimit-Remaining": "7", "RateLimit-Reset": "30"},
            RateLimitInfo(100, 7, 30.0),
        ),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 45)}, RateLimitInfo(None, None, 45.0)),
        (
            {"X-RateLimit-Reset": str(int(NOW.timestamp() * 1000) + 5000)},
            RateLimitInfo(None, None, 5.0),
        ),
        (
            {"RateLimit": '"default";r=3;t=12', "X-RateLimit-Limit": "10, 10;w=1"},
            RateLimitInfo(10, 3, 12.0),
        ),
        ({"Content-Type": "application/json"}, None),
    ],
)
def test_parse_rate_limit(headers: dict[str, str], expected: RateLimitInfo | None) -> None:
    assert parse_rate_limit(httpx.Headers(headers), now=NOW) == expected


# -- transport failures --------------------------------------------------------------------


def _aiohttp_cause(name: str) -> Exception:
    kind = type(name, (Exception,), {"__module__": "aiohttp.client_exceptions"})
    return cast(Exception, kind("boom"))


@pytest.mark.parametrize(
    ("exc", "method", "key", "error_type", "retryable", "failover_safe"),
    [
        (httpx.ConnectError("refused"), "POST", None, Unavailable, True, True),
        (httpx.ConnectTimeout("slow"), "POST", None, Unavailable, True, True),
        (httpx.PoolTimeout("full"), "POST", None, Timeout, True, True),
        (httpx.ReadTimeout("late"), "POST", None, Timeout, False, False),
        (httpx.ReadTimeout("late"), "POST", "key-1", Timeout, True, False),
        (httpx.ReadTimeout("late"), "GET", None, Timeout, True, False),
        (httpx.WriteTimeout("late"), "POST", None, Timeout, False, False),
        (httpx.RemoteProtocolError("dropped"), "POST", None, Unavailable, False, False),
        (httpx.ReadError("reset"), "PUT", None, Unavailable, True, False),
    ],
)
async def test_transport_errors(
    acme: AcmeEmail,
    httpx_mock: HTTPXMock,
    exc: Exception,
    method: str,
    key: str | None,
    error_type: type[HubError],
    retryable: bool,
    failover_safe: bool,
) -> None:
    httpx_mock.add_exception(exc)
    error = await _fail(acme, method, idempotency_key=key)
    assert type(error) is error_type
    assert (error.retryable, error.failover_safe) == (retryable, failover_safe)
    assert f"{method} https://api.acme.test/v1/mail" in str(error)


@pytest.mark.parametrize(
    ("cause", "failover_safe"),
    [
        ("ClientConnectorError", True),
        ("ConnectionTimeoutError", True),
        ("ServerDisconnectedError", False),
    ],
)
async def test_aiohttp_connect_errors_are_safe_only_before_sending(
    acme: AcmeEmail, httpx_mock: HTTPXMock, cause: str, failover_safe: bool
) -> None:
    # httpx-aiohttp maps every aiohttp.ClientConnectionError to ConnectTimeout.
    exc = httpx.ConnectTimeout("mapped")
    exc.__cause__ = _aiohttp_cause(cause)
    httpx_mock.add_exception(exc)
    error = await _fail(acme)
    assert isinstance(error, Unavailable)
    assert error.failover_safe is failover_safe


# -- both transports against a real server on 127.0.0.1 ----------------------------------


@contextlib.asynccontextmanager
async def serving(
    handle: Callable[[anyio.abc.SocketStream], Awaitable[None]],
) -> AsyncIterator[str]:
    """``handle`` serving each connection on a loopback port; yields the base URL."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)  # noqa: S610 (anyio, not Django)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{port}"
        tasks.cancel_scope.cancel()


@contextlib.asynccontextmanager
async def local_server(behaviour: str) -> AsyncIterator[str]:
    """A loopback HTTP server that answers ``ok``, drops the connection, or never answers."""

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            if behaviour == "ok":
                await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            elif behaviour == "hang":
                await anyio.sleep_forever()

    async with serving(handle) as url:
        yield url


def _refused_url() -> str:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("anyio_backend", "transport"),
    [("asyncio", "aiohttp"), ("asyncio", "httpx"), ("trio", "httpx")],
)
@pytest.mark.parametrize(
    ("behaviour", "error_type", "failover_safe"),
    [
        ("ok", None, None),
        ("refused", Unavailable, True),
        ("drop", Unavailable, False),
        ("hang", Timeout, False),
    ],
)
async def test_real_transports_map_failures_alike(
    anyio_backend: str,
    transport: str,
    behaviour: str,
    error_type: type[HubError] | None,
    failover_safe: bool | None,
) -> None:
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    async with contextlib.AsyncExitStack() as stack:
        url = _refused_url()
        if behaviour != "refused":
            url = await stack.enter_async_context(local_server(behaviour))
        section = {"base_url": url, "http": {"transport": transport, "timeout": 0.5}}
        h = await stack.enter_async_context(make_hub(section=section))
        provider = cast(AcmeEmail, h.email.provider)
        if error_type is None:
            assert (await provider.request("GET", "/ping")).text == "ok"
        else:
            error = await _fail(provider, "GET")
            assert type(error) is error_type
            assert error.failover_safe is failover_safe
            assert error.retryable  # a GET may always be repeated
        assert transport_name(provider.client) == transport


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[str]:
    """Answers each request with what it received, as JSON; gzip-encoded under ``/gzip``."""

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head, _, body = data.partition(b"\r\n\r\n")
            request_line, *lines = head.decode().split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines)
            while len(body) < int(headers.get("content-length", "0")):
                body += await stream.receive()
            method, path, _ = request_line.split(" ")
            echo = {"method": method, "path": path, "body": body.decode(), "headers": headers}
            answer = json.dumps(echo).encode()
            extra = b""
            if path == "/gzip":
                answer, extra = gzip.compress(answer), b"Content-Encoding: gzip\r\n"
            await stream.send(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id: r1\r\n"
                + extra
                + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                + answer
            )

    async with serving(handle) as url:
        yield url


JSON_PAYLOAD = {"to": "zoë@example.com", "n": [1, 2.5, None], "nested": {"ok": True}}
FORM = {"To": "+14155550100", "Body": "Zoë's table: 2 & 3 = 100%", "MediaUrl": ["a b", "c"], "n": 1}


@pytest.mark.parametrize("body", [{"json": JSON_PAYLOAD}, {"data": FORM}], ids=["json", "form"])
@pytest.mark.parametrize("path", ["/echo", "/gzip"])
async def test_both_transports_send_and_read_the_same(path: str, body: dict[str, Any]) -> None:
    """The aiohttp fast lane sends the bytes httpx would and answers an equal response."""
    pytest.importorskip("httpx_aiohttp")
    seen: dict[str, tuple[Any, ...]] = {}
    async with echo_server() as url:
        for transport in ("aiohttp", "httpx"):
            section = {"base_url": url, "http": {"transport": transport}}
            async with make_hub(section=section) as h:
                provider = cast(AcmeEmail, h.email.provider)
                response = await provider.request(
                    "POST", path, **body, headers={"X-Trace": "t1"}, expected=(201,)
                )
                assert transport_name(provider.client) == transport
                echo = response.json()
                sent = {k: v for k, v in echo["headers"].items() if k.startswith(("content", "x-"))}
                seen[transport] = (
                    echo["method"],
                    echo["path"],
                    echo["body"],
                    sent,
                    response.headers["x-request-id"],
                    response.request.method,
                    str(response.request.url),
                    response.request.content,
                    response.is_closed,
                )
                if "json" in body:
                    assert json.loads(echo["body"]) == JSON_PAYLOAD
                else:
                    assert parse_qs(echo["body"])["MediaUrl"] == ["a b", "c"]
    assert seen["aiohttp"] == seen["httpx"]


_FORM_VALUES = st.one_of(
    st.text(), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)
)


@settings(max_examples=500)
@given(
    st.dictionaries(
        st.text(min_size=1),
        st.one_of(_FORM_VALUES, st.lists(_FORM_VALUES, max_size=3)),
        min_size=1,
    )
)
def test_the_fast_form_encoder_writes_what_httpx_writes(form: dict[str, Any]) -> None:
    _, stream = encode_urlencoded_data(form)
    assert encode_form(form) == b"".join(cast(Iterable[bytes], stream))


# -- redaction -----------------------------------------------------------------------------


async def test_echoed_key_never_reaches_the_error(acme: AcmeEmail, httpx_mock: HTTPXMock) -> None:
    body = {
        "message": f"key {API_KEY} is not allowed to send",
        "code": f"bad_key_{API_KEY}",
        "request": {"authorization": f"Bearer {API_KEY}", "token": "vendor-session-token-xyz"},
    }
    httpx_mock.add_response(status_code=401, json=body)
    error = await _fail(acme, params={"api_key": "query-secret-value-123", "to": "ada"})
    assert isinstance(error, AuthenticationError)
    shown = [str(error), repr(error), json.dumps(error.raw), str(error.vendor_code)]
    for text in shown:
        assert API_KEY not in text
        assert "query-secret-value-123" not in text
        assert "vendor-session-token-xyz" not in text  # secret-named field
    assert "<REDACTED>" in str(error)
    assert "is not allowed to send" in str(error)


async def test_key_in_a_transport_error_is_redacted(acme: AcmeEmail, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError(f"proxy said no to {API_KEY}"))
    error = await _fail(acme)
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert error.__cause__ is None  # the httpx exception (and its request headers) stay behind


async def test_credentials_in_headers_are_learned(httpx_mock: HTTPXMock) -> None:
    class HeaderKeyEmail(AcmeEmail):
        def __init__(self, settings: AcmeSettings, context: ProviderContext) -> None:
            HttpProvider.__init__(self, context, headers={"X-Api-Key": "learned-from-header-1"})

    async with make_hub() as h:
        context = cast(AcmeEmail, h.email.provider).context
        provider = HeaderKeyEmail(AcmeSettings(), context)
        httpx_mock.add_response(status_code=400, text="bad key learned-from-header-1")
        error = await _fail(provider)
    assert "learned-from-header-1" not in str(error)
    assert "learned-from-header-1" not in json.dumps(cast(Any, error).raw)


# -- subclass hooks ------------------------------------------------------------------------


async def test_vendor_hooks_read_the_vendor_error_body(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=400, json={"fault": {"text": "Mailbox full", "id": "E42"}})
    httpx_mock.add_response(
        status_code=402, json={"fault": {"text": f"no funds ({API_KEY})", "id": "D1"}}
    )
    async with make_hub("faulty") as h:
        invalid = await _fail(cast(HttpProvider, h.email.provider))
        declined = await _fail(cast(HttpProvider, h.email.provider))
    assert isinstance(invalid, InvalidRequest)
    assert invalid.vendor_code == "E42"
    assert "Mailbox full" in str(invalid)
    assert isinstance(declined, PaymentDeclined)
    assert declined.decline_code == "insufficient_funds"
    assert (declined.status, declined.vendor_code, declined.provider) == (402, "D1", "faulty")
    assert not declined.retryable
    assert not declined.failover_safe
    assert API_KEY not in str(declined)
    assert API_KEY not in json.dumps(declined.raw)


async def test_a_hook_that_trips_over_a_gateway_page_falls_back(httpx_mock: HTTPXMock) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    httpx_mock.add_response(status_code=502, text=page, headers={"Content-Type": "text/html"})
    async with make_hub("faulty") as h:
        error = await _fail(cast(HttpProvider, h.email.provider))
    assert isinstance(error, Unavailable)  # not the KeyError the vendor hooks raise
    assert "502 Bad Gateway" in str(error)
    assert error.vendor_code is None


async def test_default_hooks_read_common_error_shapes(
    acme: AcmeEmail, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=400, json={"error": {"type": "invalid_request_error", "message": "amount"}}
    )
    httpx_mock.add_response(status_code=400, json={"errors": [{"message": "bad to", "code": 7}]})
    httpx_mock.add_response(status_code=400, text="plain text failure")
    first, second, third = [await _fail(acme) for _ in range(3)]
    assert "amount" in str(first)
    assert cast(Any, first).vendor_code == "invalid_request_error"
    assert "bad to" in str(second)
    assert cast(Any, second).vendor_code == "7"
    assert "plain text failure" in str(third)


class HintedVendorEmail(AcmeEmail):
    """A vendor whose map_error uses the public builders: a field, a hint, a decline."""

    def map_error(self, response: httpx.Response) -> HubError | None:
        if response.status_code == 400:
            return self.invalid_request(response, field="to", hint="use an address you own")
        if response.status_code == 413:
            return self.invalid_request(response, field="attachments")
        if response.status_code == 402:
            return self.provider_error(
                ProviderError, response, hint="top up the account", failover_safe=True
            )
        return None

    async def send_or_refusal(self) -> dict[str, Any]:
        """A documented 422 answer is a result here (as Postmark's inactive recipients)."""
        response = await self.request("POST", "/mail", json={}, expected=(200, 422))
        if response.status_code == 422 and response.json().get("code") != "suppressed":
            raise self.error_for(response)
        return cast(dict[str, Any], response.json())


async def test_invalid_request_names_the_field_and_says_how_to_fix_it(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(
        status_code=400,
        json={"message": f"bad recipient (key {API_KEY})", "code": "R1"},
        headers={"Twilio-Request-Id": "RQ123"},
    )
    httpx_mock.add_response(status_code=413, json={"message": "too large"})
    async with make_hub("hinted", registry_extra={"hinted": "HintedVendorEmail"}) as h:
        provider = cast(HttpProvider, h.email.provider)
        invalid = await _fail(provider)
        too_large = await _fail(provider)
    assert isinstance(invalid, InvalidRequest)
    assert (invalid.field, invalid.vendor_code, invalid.provider) == ("to", "R1", "hinted")
    assert "bad recipient" in str(invalid)
    assert "HTTP 400" in str(invalid)
    assert str(invalid).endswith("; use an address you own")
    assert (invalid.retryable, invalid.failover_safe) == (False, False)
    assert invalid.raw["status"] == 400
    assert invalid.raw["request_id"] == "RQ123"
    assert API_KEY not in str(invalid)
    assert API_KEY not in json.dumps(invalid.raw)
    assert isinstance(too_large, InvalidRequest)
    assert too_large.field == "attachments"
    assert str(too_large).endswith("; fix the input, the same request will fail again")


async def test_provider_error_appends_a_hint_and_takes_flags(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=402, json={"message": "no credit"})
    async with make_hub("hinted", registry_extra={"hinted": "HintedVendorEmail"}) as h:
        error = await _fail(cast(HttpProvider, h.email.provider))
    assert type(error) is ProviderError
    assert str(error).endswith("no credit; top up the account")
    assert (error.retryable, error.failover_safe, error.status) == (False, True, 402)


async def test_error_for_lets_a_plugin_read_a_documented_refusal_as_a_result(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(
        status_code=422, json={"message": "all suppressed", "code": "suppressed"}
    )
    httpx_mock.add_response(status_code=422, json={"message": f"no ({API_KEY})", "code": "E9"})
    httpx_mock.add_response(status_code=422, json={"message": f"no ({API_KEY})", "code": "E9"})
    async with make_hub("hinted", registry_extra={"hinted": "HintedVendorEmail"}) as h:
        provider = cast(HintedVendorEmail, h.email.provider)
        assert (await provider.send_or_refusal())["code"] == "suppressed"
        with pytest.raises(InvalidRequest) as info:
            await provider.send_or_refusal()
        unexpected = await _fail(provider)  # what request() raises for the same answer
    error = info.value
    assert type(error) is type(unexpected)
    assert str(error) == str(unexpected)
    assert error.vendor_code == "E9"
    assert API_KEY not in str(error)
    assert API_KEY not in json.dumps(error.raw)


@pytest.mark.parametrize(
    "header", ["X-Request-Id", "Request-Id", "Twilio-Request-Id", "Paypal-Debug-Id"]
)
async def test_the_vendors_request_id_is_kept(
    acme: AcmeEmail, httpx_mock: HTTPXMock, header: str
) -> None:
    httpx_mock.add_response(status_code=500, json={"message": "oops"}, headers={header: "id-42"})
    error = await _fail(acme)
    assert cast(Any, error).raw["request_id"] == "id-42"


async def test_json_object_takes_a_json_success_and_refuses_anything_else(
    acme: AcmeEmail, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json={"id": "m1"})
    httpx_mock.add_response(text="<html>proxy</html>", headers={"Content-Type": "text/html"})
    httpx_mock.add_response(json=["not", "an", "object"])
    assert acme.json_object(await acme.request("POST", "/mail", json={})) == {"id": "m1"}
    for _ in range(2):
        response = await acme.request("POST", f"/mail?key={API_KEY}", json={})
        with pytest.raises(ProviderError, match="without a JSON object") as info:
            acme.json_object(response)
        error = info.value
        assert (error.retryable, error.failover_safe, error.status) == (False, False, 200)
        assert "may have been processed" in str(error)
        assert API_KEY not in str(error)


def test_json_options_pass_through_but_never_over_a_mapped_field() -> None:
    mapped = {"subject": "subject"}
    options = {"track_opens": True, "asm": {"group_id": 7}}
    merged = json_options(options, provider="acme", mapped=mapped)
    assert merged == options
    assert merged is not options
    with pytest.raises(InvalidRequest, match="filled from the message's subject") as info:
        json_options({"subject": "x"}, provider="acme", mapped=mapped)
    assert info.value.field == "provider_options.acme.subject"
    with pytest.raises(InvalidRequest, match="JSON data") as info:
        json_options({"when": datetime.now(UTC)}, provider="acme", mapped=mapped)
    assert info.value.field == "provider_options.acme"


def test_provider_without_base_url_is_a_configuration_error() -> None:
    class Nowhere(HttpProvider):
        pass

    with pytest.raises(ConfigurationError, match="base_url"):
        Nowhere(cast(ProviderContext, None))


async def test_repr_names_the_provider_not_its_key(acme: AcmeEmail) -> None:
    assert "email.acme" in repr(acme)
    assert API_KEY not in repr(acme)


# -- transport selection -------------------------------------------------------------------


async def test_auto_without_httpx_aiohttp_uses_httpx(
    acme: AcmeEmail, httpx_mock: HTTPXMock, no_aiohttp: None
) -> None:
    httpx_mock.add_response(text="via httpx")
    assert transport_name(acme.client) is None  # nothing chosen before the first request
    assert (await acme.request("GET", "/ping")).text == "via httpx"
    assert transport_name(acme.client) == "httpx"


async def test_auto_on_asyncio_with_httpx_aiohttp_uses_aiohttp(
    stub_aiohttp: type[StubAiohttpTransport],
) -> None:
    section = {"http": {"max_connections": 7, "timeout": 3.5}}
    async with make_hub(section=section) as h:
        provider = cast(AcmeEmail, h.email.provider)
        assert (await provider.request("GET", "/ping")).text == "via aiohttp"
        assert transport_name(provider.client) == "aiohttp"
        [transport] = stub_aiohttp.instances
        assert transport.limits.max_connections == 7  # the provider's own pool size
        assert provider.client.timeout == httpx.Timeout(3.5)
    assert transport.closed


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_httpx_mock_intercepts_whatever_the_loop(
    stub_aiohttp: type[StubAiohttpTransport], httpx_mock: HTTPXMock, anyio_backend: str
) -> None:
    httpx_mock.add_response(text="mocked")
    async with make_hub() as h:
        provider = cast(AcmeEmail, h.email.provider)
        assert (await provider.request("GET", "/ping")).text == "mocked"
        expected = "aiohttp" if anyio_backend == "asyncio" else "httpx"
        assert transport_name(provider.client) == expected
    assert all(not t.requests for t in stub_aiohttp.instances)


async def test_real_httpx_aiohttp_is_intercepted_by_httpx_mock(httpx_mock: HTTPXMock) -> None:
    pytest.importorskip("httpx_aiohttp", reason="httpx-aiohttp is not installed")
    httpx_mock.add_response(text="mocked")
    async with make_hub() as h:
        provider = cast(AcmeEmail, h.email.provider)
        assert (await provider.request("GET", "/ping")).text == "mocked"
        assert transport_name(provider.client) == "aiohttp"


async def test_explicit_aiohttp_without_the_package_fails_at_build(no_aiohttp: None) -> None:
    async with make_hub(http={"transport": "aiohttp"}) as h:
        with pytest.raises(ConfigurationError, match="pip install httpx-aiohttp"):
            h.email.provider  # noqa: B018


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_explicit_aiohttp_on_trio_is_refused(
    stub_aiohttp: type[StubAiohttpTransport], anyio_backend: str
) -> None:
    async with make_hub(http={"transport": "aiohttp"}) as h:
        with pytest.raises(ConfigurationError, match="asyncio"):
            await cast(HttpProvider, h.email.provider).request("GET", "/ping")


@pytest.mark.parametrize(
    ("override", "message"),
    [({"timeout": -1}, "HUB_EMAIL__ACME__HTTP__timeout"), ({"bogus": 1}, "bogus")],
)
async def test_bad_provider_http_override(override: dict[str, Any], message: str) -> None:
    async with make_hub(section={"http": override}) as h:
        with pytest.raises(ConfigurationError, match=message):
            h.email.provider  # noqa: B018


# -- test layers: explicit transport, override, cassette -----------------------------------


class ClosingMock(httpx.MockTransport):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_explicit_transport_and_hub_aclose() -> None:
    mock = ClosingMock(lambda request: httpx.Response(201, json={"path": request.url.path}))
    async with make_hub() as h:
        base = cast(AcmeEmail, h.email.provider)
        provider = AcmeEmail(AcmeSettings(), base.context, transport=mock)
        response = await provider.request("POST", "/mail")
        assert response.json() == {"path": "/v1/mail"}
        assert transport_name(provider.client) == "custom"
    assert provider.client.is_closed
    assert base.client.is_closed
    assert mock.closed


async def test_override_replaces_every_provider_transport(acme: AcmeEmail) -> None:
    mock = httpx.MockTransport(lambda request: httpx.Response(500))
    with override_transport(mock):
        error = await _fail(acme)
    assert isinstance(error, Unavailable)
    assert transport_override.get() is None


async def test_override_wrapper_keeps_state_and_wraps_the_real_transport(
    acme: AcmeEmail, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(text="real", is_reusable=True)
    built: list[httpx.AsyncBaseTransport] = []

    class FailFirst(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner, self.calls = inner, 0
            built.append(self)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            if self.calls == 1:
                return httpx.Response(503, headers={"Retry-After": "1"})
            return await self.inner.handle_async_request(request)

    with override_transport(FailFirst):
        error = await _fail(acme)
        assert isinstance(error, Unavailable)
        assert error.retry_after == 1.0
        assert (await acme.request("GET", "/ping")).text == "real"
        assert (await acme.request("GET", "/ping")).text == "real"
    assert len(built) == 1  # one wrapper per client, so scripted faults keep their place


async def test_cassette_set_after_the_client_was_built(
    acme: AcmeEmail, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    cassettes = pytest.importorskip("hub.testing.cassettes")
    httpx_mock.add_response(status_code=202, json={"id": "msg-1"})
    async with cassettes.use_cassette("send", directory=tmp_path, mode="once") as recording:
        recorded = await acme.request("POST", "/mail", json={"to": "ada@example.com"})
    assert recorded.json() == {"id": "msg-1"}
    assert len(recording.interactions) == 1
    stored = (tmp_path / "send.json").read_text()
    assert API_KEY not in stored

    # Replay: the same request is answered from the file, nothing reaches httpx (or the network).
    async with cassettes.use_cassette("send", directory=tmp_path, mode="none") as replay:
        replayed = await acme.request("POST", "/mail", json={"to": "ada@example.com"})
    assert replayed.json() == {"id": "msg-1"}
    assert replay.all_played
    assert len(httpx_mock.get_requests()) == 1


async def test_override_sits_above_the_cassette(acme: AcmeEmail, tmp_path: Path) -> None:
    cassettes = pytest.importorskip("hub.testing.cassettes")
    path = tmp_path / "ping.json"
    interaction = {
        "request": {"method": "GET", "url": f"{BASE}/ping", "headers": {}, "body": {"text": ""}},
        "response": {"status": 200, "headers": {}, "body": {"text": "from cassette"}},
    }
    path.write_text(json.dumps({"version": 1, "interactions": [interaction]}))
    seen: list[str] = []

    def spy(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return await inner.handle_async_request(request)

        wrapper = httpx.AsyncBaseTransport()
        wrapper.handle_async_request = handle  # type: ignore[method-assign]
        return wrapper

    async with cassettes.use_cassette("ping", directory=tmp_path, mode="none"):
        with override_transport(spy):
            response = await acme.request("GET", "/ping")
    assert response.text == "from cassette"
    assert seen == [f"{BASE}/ping"]


# -- environment proxies -------------------------------------------------------------------


def test_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert environment_proxy(BASE) is None
    monkeypatch.setenv("HTTPS_PROXY", "127.0.0.1:3128")
    proxy = environment_proxy(BASE)
    assert proxy is not None
    assert str(proxy.url) == "http://127.0.0.1:3128"
    monkeypatch.setenv("NO_PROXY", "api.acme.test")
    assert environment_proxy(BASE) is None
