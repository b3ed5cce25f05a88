"""Amazon SES (API v2) for the integration hub: the ``ses`` email provider and its SNS webhooks.

Hooks only: this module is imported at discovery and names everything else by string, so
aiobotocore is imported only when a hub is configured to send through SES.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_ENV_VARS = {
    "region": "AWS_REGION",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "session_token": "AWS_SESSION_TOKEN",
}


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "email",
            "ses",
            "hub_ses.provider:SesEmailProvider",
            "hub_ses.settings:SesSettings",
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
            env_vars=_ENV_VARS,
            webhook="hub_ses.webhooks:SesWebhookHandler",
            webhook_events=(
                "email.queued",
                "email.delivered",
                "email.bounced",
                "email.complained",
                "email.rejected",
                "email.opened",
                "email.clicked",
                "email.deferred",
                "email.unsubscribed",
                "email.failed",
            ),
            description="Amazon SES v2 through aiobotocore; events from Amazon SNS notifications",
            docs_url="https://docs.aws.amazon.com/ses/latest/APIReference-V2/",
        )
    ]
