"""PayPal for the integration hub: hooks only, so discovery imports nothing but this module."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

#: Normalized events the PayPal webhook handler emits.
WEBHOOK_EVENTS = (
    "payment.authorized",
    "payment.captured",
    "payment.succeeded",
    "payment.failed",
    "payment.canceled",
    "payment.refunded",
    "payment.disputed",
    "payment.dispute_closed",
)


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            capability="payments",
            name="paypal",
            factory="hub_paypal.provider:PayPalProvider",
            settings_model="hub_paypal.settings:PayPalSettings",
            features=frozenset(
                {"authorize_only", "partial_capture", "partial_refund", "idempotency"}
            ),
            env_vars={
                "client_id": "PAYPAL_CLIENT_ID",
                "client_secret": "PAYPAL_CLIENT_SECRET",
                "webhook_id": "PAYPAL_WEBHOOK_ID",
            },
            webhook="hub_paypal.webhooks:PayPalWebhooks",
            webhook_events=WEBHOOK_EVENTS,
            description="PayPal Orders v2 + Payments v2: charge vaulted methods, authorize/"
            "capture, void, refund; buyer approval as requires_action",
            docs_url="https://developer.paypal.com/docs/api/orders/v2/",
        )
    ]
