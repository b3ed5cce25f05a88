"""Stripe for the integration hub: hooks only, so discovery imports nothing but this module."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

#: Normalized events the Stripe webhook handler emits.
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
            name="stripe",
            factory="hub_stripe.provider:StripeProvider",
            settings_model="hub_stripe.settings:StripeSettings",
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
            env_vars={
                "secret_key": "STRIPE_SECRET_KEY",
                "webhook_secrets": "STRIPE_WEBHOOK_SECRET",
            },
            webhook="hub_stripe.webhooks:StripeWebhooks",
            webhook_events=WEBHOOK_EVENTS,
            description="Stripe PaymentIntents: charge, authorize/capture, cancel, refund, "
            "customers",
            docs_url="https://docs.stripe.com/api/payment_intents",
        )
    ]
