"""``hub-vonage``: Vonage SMS for the integration hub (hooks only; nothing heavy imported)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_vonage"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "sms",
            "vonage",
            f"{_M}.provider:VonageSmsProvider",
            f"{_M}.settings:VonageSettings",
            # No "batch": the SMS API sends one message per request, so the hub sends
            # concurrently. No vendor idempotency either: the hub remembers keys itself.
            features=frozenset({"status_callback", "alphanumeric_sender"}),
            env_vars={
                "api_key": "VONAGE_API_KEY",
                "api_secret": "VONAGE_API_SECRET",
                "signature_secret": "VONAGE_SIGNATURE_SECRET",
                "signature_method": "VONAGE_SIGNATURE_METHOD",
            },
            webhook=f"{_M}.webhooks:VonageWebhooks",
            webhook_events=(
                "sms.sent",
                "sms.delivered",
                "sms.undelivered",
                "sms.failed",
                "sms.received",
                "sms.x-unknown",
            ),
            description="Vonage SMS API; signed requests; delivery receipts and inbound webhooks",
            docs_url="https://developer.vonage.com/en/api/sms",
        )
    ]
