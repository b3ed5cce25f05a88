"""The only place that builds HTTP clients for providers, and the base of HTTP vendor plugins.

:func:`open_client` (reached through ``ProviderContext.http_client``) opens one pooled
``httpx.AsyncClient`` per provider, closed by ``Hub.aclose()``. Its transport is a seam (see
:mod:`hub._transports`): aiohttp's speed through ``httpx-aiohttp`` where it runs, httpx's own
pool elsewhere, and per request the test layers — :data:`transport_override` (chaos, mocks) and
the active cassette. ``HUB_HTTP__TRANSPORT=auto|httpx|aiohttp``, ``HUB_HTTP__TIMEOUT``,
``HUB_HTTP__MAX_CONNECTIONS`` and ``HUB_HTTP__MAX_KEEPALIVE_CONNECTIONS`` set the defaults; a
provider's section may override them under ``http`` (``[email.sendgrid.http] timeout = 5``).

:class:`HttpProvider` is what vendor plugins build on: ``await self.request(...)`` returns the
expected response or raises a hub error mapped at one boundary, redacted, with ``retryable``
and ``failover_safe`` decided there. Plugins customize the vendor-specific part through
:meth:`HttpProvider.error_message`, :meth:`~HttpProvider.vendor_code` and
:meth:`~HttpProvider.map_error`, whose errors :meth:`~HttpProvider.provider_error` and
:meth:`~HttpProvider.invalid_request` build; :meth:`~HttpProvider.error_for` is the error a
response maps to, for a plugin that reads a documented refusal as a result.
"""

from __future__ import annotations

import base64
import json as jsonlib
import logging
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
from pydantic import ValidationError

from hub._http_errors import (
    IDEMPOTENT_METHODS,
    Answer,
    RateLimitInfo,
    invalid_request,
    parse_rate_limit,
    parse_retry_after,
    redact_body,
    safe_url,
    scrub,
    shorten,
    status_error,
    transport_error,
)
from hub._transports import (
    JSON_ENCODER,
    DirectSender,
    HubTransport,
    RealTransport,
    TransportOverride,
    environment_proxy,
    override_transport,
    require_aiohttp,
    transport_override,
)
from hub.errors import ConfigurationError, HubError, InvalidRequest, ProviderError
from hub.settings import HttpSettings, format_validation_error

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = [
    "JSON_ENCODER",
    "HttpProvider",
    "RateLimitInfo",
    "TransportOverride",
    "body_chunks",
    "json_options",
    "open_client",
    "open_stream",
    "override_transport",
    "parse_rate_limit",
    "parse_retry_after",
    "provider_http_settings",
    "send_streamed",
    "transport_name",
    "transport_override",
]

E = TypeVar("E", bound=ProviderError)
T = TypeVar("T")
EventHook = Callable[..., Any]
_logger = logging.getLogger("hub.http")
_MIN_LEARNED_SECRET = 8
_REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-twilio-request-id",
    "twilio-request-id",
    "paypal-debug-id",
)

_clients: weakref.WeakKeyDictionary[httpx.AsyncClient, HubTransport] = weakref.WeakKeyDictionary()


# -- clients ------------------------------------------------------------------------------


def provider_http_settings(context: ProviderContext) -> HttpSettings:
    """The hub's HTTP settings with the provider section's ``http`` table on top."""
    base = context.hub_settings.http
    section = context.hub_settings.capability(context.capability).provider_section(context.name)
    override = section.get("http")
    if not override:
        return base
    prefix = f"HUB_{context.capability.upper()}__{context.name.upper()}__HTTP__"
    if not isinstance(override, Mapping):
        kind = type(override).__name__
        raise ConfigurationError(f"{prefix[:-2]} must be a table/object, not a {kind}")
    try:
        return HttpSettings.model_validate({**base.model_dump(), **override})
    except ValidationError as exc:
        raise ConfigurationError(format_validation_error(exc, prefix=prefix)) from None


def open_client(
    context: ProviderContext,
    *,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    timeout: float | httpx.Timeout | None = None,
    limits: httpx.Limits | None = None,
    secrets: Iterable[str] = (),
    event_hooks: Mapping[str, list[EventHook]] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A pooled client for one provider. Prefer ``context.http_client(...)``, which closes it.

    ``secrets`` (and credentials found in ``headers``/``auth``) join the values redacted from
    every error. ``transport`` replaces the network (a ``MockTransport`` in a plugin's tests);
    the override and cassette layers still apply on top of it.
    """
    settings = provider_http_settings(context)
    if settings.transport == "aiohttp" and transport is None:
        require_aiohttp()  # fail when the hub is built, not on the first request
    _remember_secrets(context, secrets, headers, auth)
    if isinstance(auth, tuple):
        # What httpx.BasicAuth adds to every request, as a plain header: the client then has
        # no auth flow, so HttpProvider's direct lane can serve it too.
        headers = {**(headers or {}), "Authorization": _basic_auth(*auth)}
        auth = None
    real = RealTransport(
        settings.transport,
        limits=limits
        or httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
        ),
        proxy=environment_proxy(base_url),
        explicit=transport,
        label=f"{context.capability}.{context.name}",
    )
    hub_transport = HubTransport(real)
    client = httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        auth=auth,
        timeout=settings.timeout if timeout is None else timeout,
        event_hooks=event_hooks,
        transport=hub_transport,
    )
    _clients[client] = hub_transport
    return client


def _basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def transport_name(client: httpx.AsyncClient) -> str | None:
    """The real transport a hub client chose ("aiohttp", "httpx", "custom"), None before use."""
    hub_transport = _clients.get(client)
    return hub_transport.real.name if hub_transport is not None else None


def _remember_secrets(
    context: ProviderContext,
    secrets: Iterable[str],
    headers: Mapping[str, str] | None,
    auth: object,
) -> None:
    """Add the client's credentials to the values the hub redacts everywhere."""
    from hub._redact import redact_headers

    found = {s for s in secrets if s}
    if headers:
        learned: set[str] = set()
        redact_headers(headers.items(), (), found=learned)
        found.update(v for v in learned if len(v) >= _MIN_LEARNED_SECRET)
    if isinstance(auth, tuple) and len(auth) == 2 and isinstance(auth[1], str) and auth[1]:
        found.add(auth[1])
    context.runtime.secrets.update(found)


# -- the base of HTTP vendor providers ----------------------------------------------------


class HttpProvider:
    """Base of HTTP vendor providers: one pooled client and one error boundary.

    Subclasses set :attr:`base_url` (or pass it), build auth headers from their settings and
    call :meth:`request`. The vendor-specific error knowledge goes in three hooks:
    :meth:`error_message`, :meth:`vendor_code` and :meth:`map_error` (which builds its errors
    with :meth:`provider_error` and :meth:`invalid_request`).
    """

    #: The vendor's API root; requests take paths relative to it.
    base_url: ClassVar[str] = ""
    #: Header carrying the idempotency key, or None where the vendor has no idempotency.
    idempotency_header: ClassVar[str | None] = "Idempotency-Key"
    #: Whether the vendor's 503 means "not processed" (DESIGN.md: 503 before processing).
    unavailable_503_failover_safe: ClassVar[bool] = True
    #: Characters of a vendor's error body kept (redacted) in ``error.raw["body"]``.
    error_body_limit: ClassVar[int] = 2000

    def __init__(
        self,
        context: ProviderContext,
        *,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        secrets: Iterable[str] = (),
        **client_options: Any,
    ) -> None:
        url = base_url or self.base_url
        if not url:
            raise ConfigurationError(
                f"{type(self).__name__} has no base_url: set the class attribute or pass one"
            )
        self.context = context
        self.client = context.http_client(
            base_url=url, headers=headers, auth=auth, secrets=secrets, **client_options
        )
        self._transport = _clients.get(self.client)
        self._direct: DirectSender | None = None
        self._direct_checked = False

    @property
    def name(self) -> str:
        return self.context.name

    @property
    def secrets(self) -> set[str]:
        """Every secret value the hub knows of, read at error time (later providers count)."""
        return self.context.runtime.secrets

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.context.capability}.{self.name} {self.client.base_url}>"
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
        idempotency_key: str | None = None,
        expected: Collection[int] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """Send one request; the response if its status is ``expected``, else a hub error.

        ``idempotency_key`` goes out in :attr:`idempotency_header` and makes a POST repeatable,
        so timeouts and dropped connections after sending are marked retryable.
        """
        method = method.upper()
        if idempotency_key is not None and self.idempotency_header is not None:
            headers = {**(headers or {}), self.idempotency_header: idempotency_key}
        repeatable = method in IDEMPOTENT_METHODS or (
            idempotency_key is not None and self.idempotency_header is not None
        )
        try:
            session = self._direct_session(path, params, files, content)
            if session is not None:
                assert self._direct is not None
                response = await self._direct.send(
                    session, method, path, headers=headers, json=json, data=data, content=content
                )
            else:
                response = await self.client.request(
                    method,
                    path,
                    json=json,
                    data=data,
                    content=content,
                    params=params,
                    headers=headers,
                    files=files,
                )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            target = f"{method} {self._safe_target(path, exc)}"
            error = transport_error(exc, provider=self.name, target=target, repeatable=repeatable)
            raise scrub(error, self.secrets) from None
        if response.status_code in expected:
            return response
        raise self.error_for(response)

    # -- hooks for subclasses ---------------------------------------------------------

    def error_message(self, response: httpx.Response) -> str:
        """The vendor's human-readable error text (override for the vendor's error body)."""
        body = _json_or_none(response)
        found = _find_text(body, ("message", "error_description", "detail", "title", "error"))
        if found is None and isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors:
                first = errors[0]
                found = first if isinstance(first, str) else _find_text(first, ("message",))
        if found is not None:
            return found
        return response.text if body is None and response.text else response.reason_phrase

    def vendor_code(self, response: httpx.Response) -> str | None:
        """The vendor's machine-readable error code, if its body has one."""
        body = _json_or_none(response)
        code = _find_text(body, ("code", "error_code", "type", "error"))
        if code is None and isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors:
                code = _find_text(errors[0], ("code",))
        return code

    def map_error(self, response: httpx.Response) -> HubError | None:
        """A vendor-specific mapping (a 402 card decline...), or None for the default one.

        Build errors with :meth:`provider_error` so they carry the status, code and a redacted
        ``raw``; whatever is returned is redacted again before it is raised.
        """
        return None

    def provider_error(
        self,
        error_type: type[E],
        response: httpx.Response,
        message: str | None = None,
        *,
        hint: str | None = None,
        **fields: Any,
    ) -> E:
        """An error of ``error_type`` describing ``response``, for :meth:`map_error`.

        ``hint`` (what to do about it) is appended to the message; ``fields`` override the
        error's own (``retryable=False``, ``decline_code=...``).
        """
        answer = self._answer(response)
        values: dict[str, Any] = {
            "provider": self.name,
            "status": answer.status,
            "vendor_code": answer.vendor_code,
            "retry_after": answer.retry_after,
            "raw": answer.raw(),
            **fields,
        }
        text = message or answer.describe("error")
        return error_type(f"{text}; {hint}" if hint else text, **values)

    def invalid_request(
        self, response: httpx.Response, *, field: str | None = None, hint: str | None = None
    ) -> InvalidRequest:
        """The InvalidRequest for a refused request, for :meth:`map_error`.

        It names the hub ``field`` at fault and says how to fix it (``hint``; by default "fix
        the input, the same request will fail again"), with the vendor's message, code and a
        redacted ``raw`` like any error of this boundary.
        """
        return invalid_request(self._answer(response), field=field, hint=hint)

    def error_for(self, response: httpx.Response) -> HubError:
        """The error :meth:`request` raises for ``response``, redacted.

        For a vendor answer that is an error in general but a result for one call (Postmark's
        "inactive recipients" 422 is a receipt for a send): pass its status in ``expected``,
        read the body, and raise ``error_for(response)`` for every other case.
        """
        error = _guarded(self.map_error, lambda _: None, response)
        if error is None:
            error = status_error(
                self._answer(response),
                unavailable_503_failover_safe=self.unavailable_503_failover_safe,
            )
        return scrub(error, self.secrets)

    def json_object(self, response: httpx.Response) -> dict[str, Any]:
        """A success's JSON object; any other body is the vendor's fault, and since the call
        may have taken effect it is a ProviderError that is neither retried nor failed over."""
        body = _json_or_none(response)
        if isinstance(body, dict):
            return body
        request = response.request
        kind = response.headers.get("content-type", "no content type")
        raise ProviderError(
            f"{self.name}: {request.method} {safe_url(request.url, self.secrets)} answered HTTP "
            f"{response.status_code} without a JSON object ({kind}); the request may have been "
            f"processed, check the {self.name} dashboard before repeating it",
            provider=self.name,
            status=response.status_code,
            retryable=False,
            failover_safe=False,
        )

    async def aclose(self) -> None:
        """Nothing to do: the hub closes the client it opened for this provider."""

    # -- internals --------------------------------------------------------------------

    def _direct_session(self, path: str, params: object, files: object, content: object) -> Any:
        """aiohttp's session when this request may take the direct lane (see hub._transports).

        Checked per request: a cassette, an override or ``httpx_mock`` set at any time sends
        requests back through the client, where those layers see them.
        """
        if not self._direct_checked:
            self._direct_checked = True
            if self._transport is not None:
                self._direct = DirectSender.for_client(self.client)
        direct, transport = self._direct, self._transport
        if direct is None or transport is None or self.client.is_closed or self.client.cookies:
            return None
        if not direct.accepts(path, params, files, content):
            return None
        return transport.aiohttp_session()

    def _answer(self, response: httpx.Response) -> Answer:
        from hub._redact import redact_text

        secrets = list(self.secrets)
        rate_limit = parse_rate_limit(response.headers)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is None and response.status_code == 429 and rate_limit is not None:
            retry_after = rate_limit.reset_after
        message = _guarded(self.error_message, partial(HttpProvider.error_message, self), response)
        code = _guarded(self.vendor_code, partial(HttpProvider.vendor_code, self), response)
        return Answer(
            status=response.status_code,
            provider=self.name,
            target=f"{response.request.method} {safe_url(response.request.url, secrets)}",
            message=shorten(redact_text(message, secrets)),
            vendor_code=None if code is None else redact_text(code, secrets),
            retry_after=retry_after,
            rate_limit=rate_limit,
            body=redact_body(response, secrets, self.error_body_limit),
            request_id=next(
                (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
            ),
        )

    def _safe_target(self, path: str, exc: Exception) -> str:
        try:
            url = exc.request.url if isinstance(exc, httpx.HTTPError) else None
        except RuntimeError:  # raised before httpx built the request
            url = None
        if url is None:
            url = httpx.URL(str(self.client.base_url).rstrip("/") + "/" + path.lstrip("/"))
        return safe_url(url, self.secrets)


def _guarded(
    hook: Callable[[httpx.Response], T],
    fallback: Callable[[httpx.Response], T],
    response: httpx.Response,
) -> T:
    """A subclass hook's answer, or the default one when the hook trips over an odd body.

    Gateways answer 502/504 with HTML whatever the vendor's documented error shape is; the
    error boundary must still produce a hub error, not a KeyError from a plugin's hook.
    """
    try:
        return hook(response)
    except Exception as exc:
        # The type only: a message could quote the body, and with it a secret.
        name = getattr(hook, "__qualname__", "hook")
        _logger.debug(
            "%s failed on HTTP %s (%s); using the default",
            name,
            response.status_code,
            type(exc).__name__,
        )
        return fallback(response)


def json_options(
    options: Mapping[str, Any], *, provider: str, mapped: Mapping[str, str]
) -> dict[str, Any]:
    """A JSON vendor's ``provider_options[provider]``, to merge into its request body as given.

    ``mapped`` names the body keys the plugin fills from message fields (vendor key -> hub
    field): an option may not override one. Options must be JSON data. Either mistake is an
    InvalidRequest naming the option.
    """
    if not options:  # the usual case, checked on every message of a batch
        return {}
    for key in options:
        if key in mapped:
            raise InvalidRequest(
                f"{provider}: '{key}' is filled from the message's {mapped[key]}; set that instead",
                field=f"provider_options.{provider}.{key}",
                provider=provider,
            )
    try:
        jsonlib.dumps(options)
    except (TypeError, ValueError):
        raise InvalidRequest(
            f"{provider}: provider options must be JSON data",
            field=f"provider_options.{provider}",
            provider=provider,
        ) from None
    return dict(options)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return jsonlib.loads(response.content)
    except ValueError:
        return None


def _find_text(body: Any, keys: Iterable[str]) -> str | None:
    """The first of ``keys`` holding a string or number; nested ``{"error": {...}}`` too."""
    if not isinstance(body, dict):
        return None
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dict):
            nested = _find_text(value, keys)
            if nested is not None:
                return nested
    return None


# Streamed bodies (downloads, uploads of large blocks), mapped at the same boundary.
from hub._streams import body_chunks, open_stream, send_streamed  # noqa: E402
