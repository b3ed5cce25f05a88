"""Inbound webhooks: signature verification, parsing into HubEvents, and the app serving them.

Public names are imported on first access, so the hub core (which needs only the dispatcher)
does not pay for Starlette and uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.webhooks.app import create_app
    from hub.webhooks.dispatcher import Delivery, Dispatcher
    from hub.webhooks.events import EVENT_TYPES, HubEvent
    from hub.webhooks.handler import (
        BaseWebhookHandler,
        InboundRequest,
        Received,
        WebhookHandler,
        receive,
        webhook_handler,
    )
    from hub.webhooks.server import serve

__all__ = [
    "EVENT_TYPES",
    "BaseWebhookHandler",
    "Delivery",
    "Dispatcher",
    "HubEvent",
    "InboundRequest",
    "Received",
    "WebhookHandler",
    "create_app",
    "receive",
    "serve",
    "webhook_handler",
]

_LAZY = {
    "create_app": "hub.webhooks.app",
    "Delivery": "hub.webhooks.dispatcher",
    "Dispatcher": "hub.webhooks.dispatcher",
    "EVENT_TYPES": "hub.webhooks.events",
    "HubEvent": "hub.webhooks.events",
    "BaseWebhookHandler": "hub.webhooks.handler",
    "InboundRequest": "hub.webhooks.handler",
    "Received": "hub.webhooks.handler",
    "WebhookHandler": "hub.webhooks.handler",
    "receive": "hub.webhooks.handler",
    "webhook_handler": "hub.webhooks.handler",
    "serve": "hub.webhooks.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.webhooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
