"""Forge genuine webhooks in tests: signed requests for any handler with the ``sign`` test hook.

::

    event = HubEvent(type="email.bounced", provider="fake", capability="email",
                     provider_event_id="evt_1", recipient="ada@example.com", bounce_type="hard")
    response = await post_event(hub, event)          # through the ASGI app, signature and all
    assert response.json() == {"received": 1, "duplicates": 0}

A handler takes part by implementing ``sign(body, *, url) -> headers`` (and ``encode(events) ->
body`` to accept HubEvents rather than a vendor payload); see
:class:`hub.webhooks.handler.BaseWebhookHandler`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from hub.errors import ConfigurationError
from hub.plugins import Registry
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, webhook_handler

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from hub.core import Hub

__all__ = ["BASE_URL", "post_event", "signed_request", "webhook_url", "with_webhooks"]

#: Where tests pretend the receiver runs (httpx's ASGI transport accepts any host).
BASE_URL = "http://testserver"

Payload = HubEvent | Sequence[HubEvent] | bytes | str | Mapping[str, Any] | list[Any]


def with_webhooks(registry: Registry, handlers: Mapping[str, str]) -> Registry:
    """A copy of ``registry`` whose providers named in ``handlers`` use that webhook handler.

    ``handlers`` maps a provider name to a ``"module:attr"`` factory; for a handler that is not
    (yet) declared in its ProviderSpec: ``Hub(settings, registry=with_webhooks(reg, {...}))``.
    """
    providers = {
        key: dataclasses.replace(spec, webhook=handlers[key[1]]) if key[1] in handlers else spec
        for key, spec in registry.providers.items()
    }
    return dataclasses.replace(registry, providers=providers)


def webhook_url(hub: Hub, provider: str, *, base_url: str = BASE_URL) -> str:
    """The URL a vendor posts ``provider``'s webhooks to, as the receiver will reconstruct it."""
    public = hub.settings.webhooks.public_url
    base = str(public).rstrip("/") if public is not None else base_url.rstrip("/")
    return f"{base}/webhooks/{provider}"


def signed_request(
    hub: Hub,
    provider: str,
    payload: Payload,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> InboundRequest:
    """A request ``provider``'s handler accepts, carrying HubEvents or a vendor payload.

    ``payload`` is one or more HubEvents (encoded by the handler's ``encode`` hook), raw bytes or
    text, or a JSON-serializable mapping/list. ``headers`` are added after signing.
    """
    handler = webhook_handler(hub, provider)
    body = _body(handler, provider, payload)
    url = url if url is not None else webhook_url(hub, provider)
    sign = getattr(handler, "sign", None)
    try:
        if sign is None:
            raise NotImplementedError
        signed: dict[str, str] = sign(body, url=url)
    except NotImplementedError:
        raise ConfigurationError(
            f"the webhook handler of {provider!r} has no sign() test hook; it cannot be forged"
        ) from None
    content_type = {"content-type": "application/json"} if body[:1] in (b"{", b"[") else {}
    return InboundRequest(url=url, body=body, headers={**content_type, **signed, **(headers or {})})


def _body(handler: object, provider: str, payload: Payload) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    events = _events(payload)
    if events is None:
        return json.dumps(payload).encode("utf-8")
    encode = getattr(handler, "encode", None)
    try:
        if encode is None:
            raise NotImplementedError
        body: bytes = encode(events)
    except NotImplementedError:
        raise ConfigurationError(
            f"the webhook handler of {provider!r} has no encode() test hook; "
            "pass the vendor's payload instead of HubEvents"
        ) from None
    return body


def _events(payload: Payload) -> list[HubEvent] | None:
    """The HubEvents in ``payload``, or None when it is a vendor payload."""
    if isinstance(payload, HubEvent):
        return [payload]
    if isinstance(payload, list | tuple) and payload:
        events = [e for e in payload if isinstance(e, HubEvent)]
        return events if len(events) == len(payload) else None
    return None


async def post_event(
    hub: Hub,
    payload: Payload,
    *,
    provider: str | None = None,
    app: ASGIApp | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Post a signed webhook through the receiver app (``create_app(hub)`` unless given).

    ``provider`` defaults to the provider of the (first) event.
    """
    if provider is None:
        events = _events(payload)
        if not events:
            raise ConfigurationError("post_event needs provider= when the payload is not HubEvents")
        provider = events[0].provider
    if app is None:
        from hub.webhooks.app import create_app

        app = create_app(hub)
    request = signed_request(hub, provider, payload, headers=headers)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        return await client.post(
            f"/webhooks/{provider}", content=request.body, headers=list(request.headers.items())
        )
