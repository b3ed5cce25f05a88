"""Mailgun for the integration hub: plugin hooks only (nothing heavy is imported here)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_mailgun"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            capability="email",
            name="mailgun",
            factory=f"{_M}.provider:MailgunProvider",
            settings_model=f"{_M}.settings:MailgunSettings",
            features=frozenset(
                {
                    "attachments",
                    "inline_attachments",
                    "templates",
                    "tags",
                    "metadata",
                    "custom_headers",
                    "batch",
                    "scheduled_send",
                }
            ),
            env_vars={
                "api_key": "MAILGUN_API_KEY",
                "domain": "MAILGUN_DOMAIN",
                "webhook_signing_key": "MAILGUN_WEBHOOK_SIGNING_KEY",
            },
            webhook=f"{_M}.webhooks:MailgunWebhooks",
            webhook_events=(
                "email.queued",
                "email.delivered",
                "email.bounced",
                "email.rejected",
                "email.opened",
                "email.clicked",
                "email.unsubscribed",
                "email.complained",
            ),
            description="Mailgun Messages API (US/EU), recipient-variables batches, HMAC webhooks",
            docs_url="https://documentation.mailgun.com/docs/mailgun/api-reference/",
        )
    ]
