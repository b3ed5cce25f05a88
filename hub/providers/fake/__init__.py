"""``fake``: in-memory providers for tests, with outboxes and fault injection.

This module is the plugin entry (hooks only); each capability's provider lives in its own module.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_WEBHOOK = "hub.webhooks.builtin:BuiltinWebhookHandler"
_M = "hub.providers.fake"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "email",
            "fake",
            f"{_M}.email:FakeEmailProvider",
            f"{_M}._faults:FakeSettings",
            features=frozenset(
                {
                    "attachments",
                    "inline_attachments",
                    "tags",
                    "metadata",
                    "custom_headers",
                    "templates",
                    "batch",
                    "scheduled_send",
                    "idempotency",
                }
            ),
            webhook_events=("email.delivered",),
            webhook=_WEBHOOK,
            description="keeps messages in memory (an outbox to inspect); can inject faults",
        ),
        ProviderSpec(
            "sms",
            "fake",
            f"{_M}.sms:FakeSmsProvider",
            f"{_M}._faults:FakeSettings",
            features=frozenset({"batch", "media", "status_callback", "alphanumeric_sender"}),
            webhook_events=("sms.delivered",),
            webhook=_WEBHOOK,
            description="keeps text messages in memory (an outbox to inspect); can inject faults",
        ),
        ProviderSpec(
            "payments",
            "fake",
            f"{_M}.payments:FakePaymentsProvider",
            f"{_M}._faults:FakeSettings",
            features=frozenset(
                {
                    "authorize_only",
                    "partial_capture",
                    "partial_refund",
                    "customers",
                    "idempotency",
                    "three_d_secure",
                }
            ),
            webhook_events=(
                "payment.succeeded",
                "payment.captured",
                "payment.canceled",
                "payment.refunded",
                "payment.failed",
            ),
            webhook=_WEBHOOK,
            description="a payment ledger in memory; Stripe-like test cards; can inject faults",
        ),
        ProviderSpec(
            "storage",
            "fake",
            f"{_M}.storage:FakeStorageProvider",
            f"{_M}._faults:FakeSettings",
            features=frozenset({"presigned_urls", "presigned_put", "metadata", "ranged_reads"}),
            webhook=_WEBHOOK,
            description="objects in memory; signed fake-storage:// URLs; can inject faults",
        ),
        ProviderSpec(
            "search",
            "fake",
            f"{_M}.search:FakeSearchProvider",
            f"{_M}._faults:FakeSettings",
            features=frozenset({"filters", "range_filters", "scores"}),
            webhook=_WEBHOOK,
            description="indexes in memory, BM25 ranking in Python; can inject faults",
        ),
    ]
