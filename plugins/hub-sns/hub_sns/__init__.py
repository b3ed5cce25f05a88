"""Amazon SNS for the integration hub: the ``sns`` SMS provider.

Hooks only: this module is imported at discovery and names everything else by string, so
aiobotocore is imported only when a hub sends through SNS. There is no webhook: SNS reports
SMS delivery status to CloudWatch Logs, not to an HTTP endpoint (see the README).
"""

from __future__ import annotations

from hub.aws import AWS_ENV_VARS
from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "sms",
            "sns",
            "hub_sns.provider:SnsSmsProvider",
            "hub_sns.settings:SnsSettings",
            # No "batch": PublishBatch takes a topic, not phone numbers. No "status_callback"
            # or "media": SNS sends plain text and logs delivery status to CloudWatch.
            features=frozenset({"alphanumeric_sender"}),
            env_vars=AWS_ENV_VARS,
            description="Amazon SNS SMS: Publish to a phone number through aiobotocore",
            docs_url="https://docs.aws.amazon.com/sns/latest/dg/sms_publish-to-phone.html",
        )
    ]
