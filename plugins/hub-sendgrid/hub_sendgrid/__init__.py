"""``hub-sendgrid``: SendGrid email for the integration hub (hooks only; nothing heavy imported)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_sendgrid"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "email",
            "sendgrid",
            f"{_M}.provider:SendGridEmailProvider",
            f"{_M}.settings:SendGridSettings",
            # No "idempotency": SendGrid has no idempotency key, so the hub remembers keys.
            features=frozenset(
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
                }
            ),
            env_vars={
                "api_key": "SENDGRID_API_KEY",
                "webhook_public_key": "SENDGRID_WEBHOOK_PUBLIC_KEY",
            },
            webhook=f"{_M}.webhooks:SendGridWebhooks",
            webhook_events=(
                "email.queued",
                "email.delivered",
                "email.deferred",
                "email.bounced",
                "email.rejected",
                "email.opened",
                "email.clicked",
                "email.complained",
                "email.unsubscribed",
            ),
            description="SendGrid v3 Mail Send; personalization batches; signed Event Webhook",
            docs_url="https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send",
        )
    ]
