"""Registers the built-in capabilities through the same hook a plugin would use."""

from __future__ import annotations

from hub.plugins import CapabilitySpec, hookimpl

hub_plugin_api = 1

# Feature vocabularies are repeated here as literals so that discovery imports no capability
# module; tests/test_capabilities.py checks they match each module's FEATURES.
_EMAIL = frozenset(
    {
        "attachments",
        "inline_attachments",
        "templates",
        "tags",
        "metadata",
        "custom_headers",
        "batch",
        "bulk",
        "scheduled_send",
        "idempotency",
    }
)
_SMS = frozenset(
    {"batch", "media", "status_callback", "alphanumeric_sender", "verification", "sender_pool"}
)
_PAYMENTS = frozenset(
    {
        "authorize_only",
        "partial_capture",
        "partial_refund",
        "customers",
        "idempotency",
        "three_d_secure",
    }
)
_STORAGE = frozenset({"presigned_urls", "presigned_put", "metadata", "ranged_reads", "multipart"})
_SEARCH = frozenset({"filters", "range_filters", "scores", "async_tasks"})


@hookimpl
def hub_capabilities() -> list[CapabilitySpec]:
    return [
        CapabilitySpec(
            "email",
            "hub.capabilities.email:EmailService",
            "hub.settings:EmailSettings",
            _EMAIL,
            "send transactional email",
        ),
        CapabilitySpec(
            "sms",
            "hub.capabilities.sms:SmsService",
            "hub.settings:SmsSettings",
            _SMS,
            "send SMS and verify phone numbers",
        ),
        CapabilitySpec(
            "payments",
            "hub.capabilities.payments:PaymentsService",
            "hub.settings:CapabilitySettings",
            _PAYMENTS,
            "charge, capture, refund",
        ),
        CapabilitySpec(
            "storage",
            "hub.capabilities.storage:StorageService",
            "hub.settings:CapabilitySettings",
            _STORAGE,
            "store and serve objects",
        ),
        CapabilitySpec(
            "search",
            "hub.capabilities.search:SearchService",
            "hub.settings:CapabilitySettings",
            _SEARCH,
            "index and search documents",
        ),
    ]
