"""The webhook receiver as a Starlette app, mountable into any ASGI app.

``POST /webhooks/{provider}`` answers, in the order these are checked:

* 404 ``{"error": "not found"}``: no installed provider of that name has a webhook handler;
* 413 ``{"error": "body too large"}``: over ``settings.webhooks.max_body_bytes``, judged from
  Content-Length first and then counted while streaming, so no more than the limit is ever read;
* 400 ``{"error": "invalid webhook"}``: bad signature, stale timestamp or unparseable payload.
  The body says nothing more (that would help a forger); the reason is logged at INFO. A
  handler whose vendor retries every answer but one sets ``refusal_status`` to that one
  (Mailgun: 406), so a refused request is not delivered again and again;
* 500 ``{"error": "internal error"}``: an app handler raised (the event stays unhandled, so the
  vendor's retry runs it again), the provider's handler is misconfigured, or something it
  needed to fetch (a signing certificate) could not be fetched;
* 409 ``{"error": "event in progress"}`` with ``Retry-After``: another delivery of the same event
  is being handled right now; the vendor retries and then sees it as a duplicate;
* 200 ``{"received": n, "duplicates": m}``: every event handled (``m`` of them before).

``GET /healthz`` answers ``{"status": "ok"}``; ``GET /metrics`` the Prometheus exposition of the
hub's metrics registry (the global one unless the Hub was given another).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.errors import HubError, ProviderError, WebhookError
from hub.webhooks.handler import InboundRequest, receive, refusal_status

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["create_app", "vendor_url"]

log = logging.getLogger("hub.webhooks")

#: Seconds a vendor is asked to wait when the same event is being handled by another delivery.
RETRY_IN_PROGRESS_AFTER = 10


class _TooLarge(Exception):
    pass


def create_app(hub: Hub, *, close_hub: bool = False) -> Starlette:
    """The receiver for ``hub``; ``close_hub=True`` closes the hub when the app shuts down."""

    async def webhook(request: Request) -> Response:
        return await _webhook(hub, request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    registry = hub._runtime.observability.metrics.registry  # the hub's (injectable) registry

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_hub:
                await hub.aclose()

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, "not found")

    return Starlette(
        exception_handlers={404: not_found},
        routes=[
            # GET too: some vendors (Vonage delivery receipts) send query parameters.
            Route("/webhooks/{provider}", webhook, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def _webhook(hub: Hub, request: Request) -> Response:
    provider = request.path_params["provider"]
    if hub.registry.webhook_provider(provider) is None:
        return _error(404, "not found")
    limit = hub.settings.webhooks.max_body_bytes
    try:
        body = await _read_body(request, limit)
    except _TooLarge:
        log.info("webhook for %s refused: body over %d bytes", provider, limit)
        return _error(413, "body too large")
    except WebhookError as exc:
        log.info("webhook for %s refused: %s", provider, _printable(exc))
        return _error(refusal_status(hub, provider), "invalid webhook")
    inbound = InboundRequest(
        method=request.method,
        url=vendor_url(request, hub.settings.webhooks.public_url),
        headers=request.headers,
        body=body,
    )
    try:
        received = await receive(hub, provider, inbound)
    except WebhookError as exc:
        # Only the reason: it never holds a secret or a signature (hub.webhooks.signatures).
        log.info("webhook for %s refused: %s", provider, _printable(exc))
        return _error(refusal_status(hub, provider), "invalid webhook")
    except ProviderError as exc:
        # A vendor that could not be reached (a certificate fetch): the request may be genuine.
        log.warning("webhook for %s not handled now, the vendor will retry: %s", provider, exc)
        return _error(500, "internal error")
    except HubError as exc:
        log.error("webhook receiver for %s is misconfigured: %s", provider, exc)
        return _error(500, "internal error")
    except Exception:
        log.exception("a handler failed on a webhook from %s; the vendor will retry", provider)
        return _error(500, "internal error")
    if received.in_progress:
        return _error(409, "event in progress", **{"Retry-After": str(RETRY_IN_PROGRESS_AFTER)})
    return JSONResponse({"received": received.received, "duplicates": received.duplicates})


def _printable(exc: Exception) -> str:
    """One bounded log line: a plugin's message may quote the (hostile) payload."""
    return str(exc).encode("unicode_escape").decode("ascii")[:300]


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refusing as soon as it is known to exceed ``limit``; never reads past it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or len(declared) > 18:
            raise WebhookError("malformed Content-Length")
        if int(declared) > limit:
            raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def vendor_url(request: Request, public_url: object | None = None) -> str:
    """The URL the vendor requested: ``public_url`` (behind a proxy) + the raw path and query."""
    scope = request.scope
    raw_path = scope.get("raw_path")
    # Some servers keep the query in raw_path; the query string comes from its own key.
    path: str = raw_path.decode("latin-1").split("?", 1)[0] if raw_path else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    if public_url is not None:
        base = str(public_url).rstrip("/")
    else:
        base = f"{request.url.scheme}://{request.url.netloc}"
    return base + path + (f"?{query}" if query else "")
