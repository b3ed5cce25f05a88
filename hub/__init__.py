"""integration-hub: one async API per capability, vendors as plugins, resilience in between.

::

    import hub
    await hub.email.send(to="ada@example.com", subject="Hi", text="Hello")

``hub.email``, ``hub.sms``, ``hub.payments``, ``hub.storage`` and ``hub.search`` belong to the
default hub, configured from the environment / ``.env`` / ``hub.toml`` on first use. Apps that
want explicit lifecycles use ``async with hub.Hub.from_settings(...) as h``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from hub.capabilities._models import Receipt
from hub.capabilities.email import (
    Address,
    Attachment,
    EmailMessage,
    EmailReceipt,
    RecipientResult,
    SendResult,
)
from hub.core import Hub
from hub.errors import (
    AuthenticationError,
    CircuitOpen,
    ConfigurationError,
    HubError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PaymentDeclined,
    PluginError,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
    UnsupportedFeature,
    WebhookError,
)
from hub.plugins import CapabilitySpec, ProviderSpec, hookimpl
from hub.settings import HubSettings, ProviderSettings
from hub.webhooks.events import HubEvent

if TYPE_CHECKING:
    from hub.capabilities.email import EmailService

__all__ = [
    "Address",
    "Attachment",
    "AuthenticationError",
    "CapabilitySpec",
    "CircuitOpen",
    "ConfigurationError",
    "EmailMessage",
    "EmailReceipt",
    "Hub",
    "HubError",
    "HubEvent",
    "HubSettings",
    "InvalidRequest",
    "NotFound",
    "OutcomeUnknown",
    "PaymentDeclined",
    "PluginError",
    "ProviderError",
    "ProviderSettings",
    "ProviderSpec",
    "RateLimited",
    "Receipt",
    "RecipientResult",
    "SendResult",
    "Timeout",
    "Unavailable",
    "UnsupportedFeature",
    "WebhookError",
    "aclose",
    "default_hub",
    "hookimpl",
    "on",
]

__version__ = "0.1.0"

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

_lock = threading.Lock()
_default: Hub | None = None
_CAPABILITIES = ("email", "sms", "payments", "storage", "search")


def default_hub() -> Hub:
    """The process-wide hub behind ``hub.email`` etc., built from settings on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = Hub.from_settings()
        return _default


def on(event_type: str) -> Callable[[F], F]:
    """Register a handler on the default hub: ``@hub.on("email.bounced")``."""
    return default_hub().on(event_type)


async def aclose() -> None:
    """Close the default hub (its HTTP clients and providers); the next use builds a new one."""
    global _default
    with _lock:
        current, _default = _default, None
    if current is not None:
        await current.aclose()


def __getattr__(name: str) -> Any:
    if name in _CAPABILITIES:
        return default_hub().service(name)
    raise AttributeError(f"module 'hub' has no attribute {name!r}")


if TYPE_CHECKING:
    email: EmailService


def _set_module(names: list[str]) -> None:
    # Show users hub.CircuitOpen rather than hub.errors.CircuitOpen in tracebacks.
    for name in names:
        obj = globals()[name]
        if isinstance(obj, type):
            obj.__module__ = "hub"


_set_module([n for n in __all__ if n[0].isupper()])
