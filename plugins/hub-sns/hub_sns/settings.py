"""Settings of the ``sns`` SMS provider: ``[sms.sns]`` / ``HUB_SMS__SNS__*`` and ``AWS_*``.

Credentials, region and endpoint come from :class:`hub.aws.AwsSettings` (shared by every AWS
plugin); what is added here are the SMS defaults SNS lets a publish override per message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from hub.aws import AwsSettings

__all__ = ["SmsType", "SnsSettings", "parse_sms_type"]

#: ``AWS.SNS.SMS.SMSType``: Transactional is routed for reliability, Promotional for cost.
SmsType = Literal["Transactional", "Promotional"]
_SMS_TYPES: dict[str, SmsType] = {"transactional": "Transactional", "promotional": "Promotional"}


def parse_sms_type(value: object) -> SmsType:
    """``transactional``/``Promotional`` in any case, as SNS spells it; ValueError otherwise."""
    found = _SMS_TYPES.get(value.strip().lower()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"must be 'Transactional' or 'Promotional', not {value!r}")
    return found


class SnsSettings(AwsSettings):
    """Amazon SNS SMS: AWS credentials and region, and the defaults of every publish."""

    sms_type: SmsType = Field(
        "Transactional",
        description="AWS.SNS.SMS.SMSType of every message: Transactional (reliable delivery, "
        "e.g. one-time codes) or Promotional (lowest cost); provider_options.sns.sms_type "
        "overrides it per message",
    )
    max_price: Decimal | None = Field(
        None,
        gt=0,
        max_digits=10,
        description="AWS.SNS.SMS.MaxPrice: the most, in USD, one message may cost; SNS does "
        "not send a message that would cost more (unset: the account's spend limit only)",
    )
    check_opt_out: bool = Field(
        False,
        description="ask CheckIfPhoneNumberIsOptedOut before each publish and refuse numbers "
        "that opted out (SNS itself accepts the publish and drops the message silently); one "
        "more API call per message",
    )

    @field_validator("sms_type", mode="before")
    @classmethod
    def _sms_type(cls, value: Any) -> Any:
        return parse_sms_type(value)
