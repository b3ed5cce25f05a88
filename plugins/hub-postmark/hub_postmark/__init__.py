"""``hub-postmark``: Postmark email for the integration hub (hooks only; nothing heavy imported)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_postmark"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "email",
            "postmark",
            f"{_M}.provider:PostmarkEmailProvider",
            f"{_M}.settings:PostmarkSettings",
            # Postmark cannot schedule (no "scheduled_send") and has no idempotency key; "tags"
            # means one tag per message (more raise InvalidRequest naming `tags`).
            features=frozenset(
                {
                    "attachments",
                    "inline_attachments",
                    "templates",
                    "tags",
                    "metadata",
                    "custom_headers",
                    "batch",
                }
            ),
            env_vars={"server_token": "POSTMARK_SERVER_TOKEN"},
            webhook=f"{_M}.webhooks:PostmarkWebhooks",
            webhook_events=(
                "email.delivered",
                "email.bounced",
                "email.complained",
                "email.opened",
                "email.clicked",
                "email.unsubscribed",
                "email.rejected",
                "email.failed",
            ),
            description="Postmark Email API: single, batch (500) and template sends; streams",
            docs_url="https://postmarkapp.com/developer/api/email-api",
        )
    ]
