"""``local``: embedded providers for development; files under ``.hub/``, nothing to sign up for.

This module is the plugin entry (hooks only); each capability's provider lives in its own
module, imported only when configured.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_WEBHOOK = "hub.webhooks.builtin:BuiltinWebhookHandler"
_M = "hub.providers.local"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "email",
            "local",
            f"{_M}.email:LocalEmailProvider",
            f"{_M}.email:LocalEmailSettings",
            features=frozenset(
                {
                    "attachments",
                    "inline_attachments",
                    "tags",
                    "metadata",
                    "custom_headers",
                    "templates",
                    "idempotency",
                }
            ),
            webhook_events=("email.delivered",),
            webhook=_WEBHOOK,
            description="writes each message as an .eml file under .hub/outbox/",
        ),
        ProviderSpec(
            "sms",
            "local",
            f"{_M}.sms:LocalSmsProvider",
            f"{_M}.sms:LocalSmsSettings",
            features=frozenset({"media", "alphanumeric_sender"}),
            webhook_events=("sms.delivered",),
            webhook=_WEBHOOK,
            description="appends each message as a JSON line to .hub/sms.jsonl",
        ),
        ProviderSpec(
            "payments",
            "local",
            f"{_M}.payments:LocalPaymentsProvider",
            f"{_M}.payments:LocalPaymentsSettings",
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
            description="a payment ledger in .hub/payments.sqlite3; Stripe-like test cards",
        ),
        ProviderSpec(
            "storage",
            "local",
            f"{_M}.storage:LocalStorageProvider",
            f"{_M}.storage:LocalStorageSettings",
            features=frozenset({"presigned_urls", "metadata", "ranged_reads"}),
            webhook=_WEBHOOK,
            description="files under .hub/storage/objects/; url() gives file:// URLs",
        ),
        ProviderSpec(
            "search",
            "local",
            f"{_M}.search:LocalSearchProvider",
            f"{_M}.search:LocalSearchSettings",
            features=frozenset({"filters", "range_filters", "scores"}),
            webhook=_WEBHOOK,
            description="SQLite FTS5 with BM25 ranking in .hub/search.sqlite3",
        ),
    ]
