"""integration-hub: one async API per capability, vendors as plugins, resilience in between.

::

    import hub
    await hub.email.send(to="ada@example.com", subject="Hi", text="Hello")

``hub.email``, ``hub.sms``, ``hub.payments``, ``hub.storage`` and ``hub.search`` belong to the
default hub, configured from the environment / ``.env`` / ``hub.toml`` on first use. Apps that
want explicit lifecycles use ``async with hub.Hub.from_settings(...) as h``.

Public names are imported on first access (PEP 562), so ``import hub`` stays cheap for CLIs
and apps that touch one capability.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub.capabilities._batch import SendResult
    from hub.capabilities._email_bulk import BulkFailure, BulkRecipient, BulkResult
    from hub.capabilities._models import Receipt
    from hub.capabilities.email import (
        Address,
        Attachment,
        EmailMessage,
        EmailReceipt,
        EmailService,
        RecipientResult,
    )
    from hub.capabilities.payments import (
        Customer,
        Money,
        Payment,
        PaymentsService,
        PaymentStatus,
        Refund,
    )
    from hub.capabilities.search import Hit, IndexResult, SearchResults, SearchService
    from hub.capabilities.sms import (
        SmsMessage,
        SmsReceipt,
        SmsService,
        VerificationResult,
        VerificationStarted,
    )
    from hub.capabilities.storage import ObjectInfo, PutReceipt, StorageService
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

    email: EmailService
    sms: SmsService
    payments: PaymentsService
    storage: StorageService
    search: SearchService

__all__ = [
    "Address",
    "Attachment",
    "AuthenticationError",
    "BulkFailure",
    "BulkRecipient",
    "BulkResult",
    "CapabilitySpec",
    "CircuitOpen",
    "ConfigurationError",
    "Customer",
    "EmailMessage",
    "EmailReceipt",
    "Hit",
    "Hub",
    "HubError",
    "HubEvent",
    "HubSettings",
    "IndexResult",
    "InvalidRequest",
    "Money",
    "NotFound",
    "ObjectInfo",
    "OutcomeUnknown",
    "Payment",
    "PaymentDeclined",
    "PaymentStatus",
    "PluginError",
    "ProviderContext",
    "ProviderError",
    "ProviderSettings",
    "ProviderSpec",
    "PutReceipt",
    "RateLimited",
    "Receipt",
    "RecipientResult",
    "Refund",
    "SearchResults",
    "SendResult",
    "SmsMessage",
    "SmsReceipt",
    "Timeout",
    "Unavailable",
    "UnsupportedFeature",
    "VerificationResult",
    "VerificationStarted",
    "WebhookError",
    "aclose",
    "default_hub",
    "hookimpl",
    "on",
]

__version__ = "0.1.0"

#: Where each public name lives; imported on first access.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        ["Address", "Attachment", "EmailMessage", "EmailReceipt", "RecipientResult"],
        "hub.capabilities.email",
    ),
    **dict.fromkeys(
        ["Customer", "Money", "Payment", "PaymentStatus", "Refund"], "hub.capabilities.payments"
    ),
    **dict.fromkeys(
        ["SmsMessage", "SmsReceipt", "VerificationResult", "VerificationStarted"],
        "hub.capabilities.sms",
    ),
    "SendResult": "hub.capabilities._batch",
    **dict.fromkeys(["BulkFailure", "BulkRecipient", "BulkResult"], "hub.capabilities._email_bulk"),
    **dict.fromkeys(["Hit", "IndexResult", "SearchResults"], "hub.capabilities.search"),
    **dict.fromkeys(["ObjectInfo", "PutReceipt"], "hub.capabilities.storage"),
    **dict.fromkeys(
        [
            "AuthenticationError",
            "CircuitOpen",
            "ConfigurationError",
            "HubError",
            "InvalidRequest",
            "NotFound",
            "OutcomeUnknown",
            "PaymentDeclined",
            "PluginError",
            "ProviderError",
            "RateLimited",
            "Timeout",
            "Unavailable",
            "UnsupportedFeature",
            "WebhookError",
        ],
        "hub.errors",
    ),
    "Receipt": "hub.capabilities._models",
    "Hub": "hub.core",
    "ProviderContext": "hub._runtime",
    "HubEvent": "hub.webhooks.events",
    "HubSettings": "hub.settings",
    "ProviderSettings": "hub.settings",
    "CapabilitySpec": "hub.plugins",
    "ProviderSpec": "hub.plugins",
    "hookimpl": "hub.plugins",
}
_CAPABILITIES = frozenset({"email", "sms", "payments", "storage", "search"})

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

_lock = threading.RLock()
_default: Hub | None = None


def default_hub() -> Hub:
    """The process-wide hub behind ``hub.email`` etc., built from settings on first use."""
    global _default
    with _lock:
        if _default is None:
            from hub.core import Hub

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
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    if isinstance(value, type):
        # Show users hub.CircuitOpen rather than hub.errors.CircuitOpen in tracebacks.
        value.__module__ = "hub"
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_CAPABILITIES})
