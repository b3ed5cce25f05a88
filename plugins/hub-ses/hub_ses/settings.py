"""Settings of the ``ses`` email provider: ``[email.ses]`` / ``HUB_EMAIL__SES__*`` and ``AWS_*``."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from hub.aws import AwsSettings

__all__ = ["SesSettings"]

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")


class SesSettings(AwsSettings):
    """Amazon SES (API v2): credentials and region, sending defaults, SNS webhook policy."""

    configuration_set: str | None = Field(
        None, description="ConfigurationSetName of every send (event publishing to SNS)"
    )
    from_arn: str | None = Field(
        None, description="FromEmailAddressIdentityArn, for sending authorization"
    )
    feedback_forwarding_address: str | None = Field(
        None, description="FeedbackForwardingEmailAddress: where bounces/complaints are mailed"
    )
    max_concurrency: int = Field(
        10, ge=1, le=100, description="messages sent at once by send_many outside SendBulkEmail"
    )
    sns_topic_arns: list[str] = Field(
        default_factory=list,
        description="SNS topics whose webhooks are accepted; subscriptions are confirmed only "
        "for these",
    )
    confirm_subscriptions: bool = Field(
        True, description="confirm SNS subscriptions of allowed topics automatically"
    )
    webhook_max_age: float = Field(
        3600.0,
        gt=0,
        description="oldest SNS message accepted, seconds (SNS retries for up to an hour)",
    )

    @field_validator("sns_topic_arns", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sns_topic_arns")
    @classmethod
    def _valid_arns(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not _TOPIC_ARN.match(arn):
                raise ValueError(
                    f"{arn!r} is not an SNS topic ARN like "
                    "'arn:aws:sns:eu-west-1:123456789012:ses-events'"
                )
        return value
