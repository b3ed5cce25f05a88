"""An SmsMessage as the parameters of SNS ``Publish`` to a phone number.

SNS takes the number and the text, and everything else as reserved message attributes:

    AWS.SNS.SMS.SenderID          an alphanumeric sender (3-11 letters/digits, no spaces)
    AWS.MM.SMS.OriginationNumber  an E.164 sender (a number the account owns)
    AWS.SNS.SMS.SMSType           Transactional | Promotional
    AWS.SNS.SMS.MaxPrice          the most one message may cost, USD
    AWS.MM.SMS.EntityId / TemplateId   India's DLT registration

What SNS cannot carry raises rather than being dropped: media (SMS only), a per-message
status callback (SNS logs delivery status to CloudWatch Logs) and metadata (custom message
attributes are not delivered with an SMS). :class:`Publish` also remembers which hub field set
each SNS parameter, so a refusal from SNS can name the caller's field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.capabilities.sms import SmsMessage
from hub.errors import InvalidRequest, UnsupportedFeature
from hub_sns.settings import SnsSettings, parse_sms_type

__all__ = ["OPTIONS", "Publish", "publish_request"]

#: The ``provider_options`` section this provider reads.
VENDOR = "sns"
_SENDER_ID = re.compile(r"[A-Za-z0-9]{3,11}")


@dataclass(frozen=True, slots=True)
class Publish:
    """``Publish``'s keyword arguments, and the hub field behind each SNS parameter."""

    params: dict[str, Any]
    fields: dict[str, str] = field(default_factory=dict)


def _max_price(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a price in USD such as '0.05'")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"must be a price in USD such as '0.05', not {value!r}") from None
    if not price.is_finite() or price <= 0:
        raise ValueError(f"must be a positive price in USD such as '0.05', not {value!r}")
    return format(price, "f")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


#: ``provider_options["sns"]`` keys -> (message attribute, DataType, converter).
OPTIONS: Mapping[str, tuple[str, str, Callable[[Any], str]]] = {
    "sms_type": ("AWS.SNS.SMS.SMSType", "String", parse_sms_type),
    "max_price": ("AWS.SNS.SMS.MaxPrice", "Number", _max_price),
    "entity_id": ("AWS.MM.SMS.EntityId", "String", _text),
    "template_id": ("AWS.MM.SMS.TemplateId", "String", _text),
}


def publish_request(message: SmsMessage, settings: SnsSettings, *, provider: str) -> Publish:
    """The ``Publish`` call sending ``message``; InvalidRequest names what SNS cannot express."""
    _refuse_unexpressible(message, provider)
    attributes: dict[str, dict[str, str]] = {}
    fields = {"PhoneNumber": "to", "Message": "body"}

    def put(name: str, data_type: str, value: str, source: str) -> None:
        attributes[name] = {"DataType": data_type, "StringValue": value}
        fields[name] = source

    if message.sender is not None:
        put(*_sender(message.sender, provider), "sender")
    put("AWS.SNS.SMS.SMSType", "String", settings.sms_type, "sms_type")
    if settings.max_price is not None:
        put("AWS.SNS.SMS.MaxPrice", "Number", format(settings.max_price, "f"), "max_price")
    for option, value in message.provider_options.get(VENDOR, {}).items():
        where = f"provider_options.{VENDOR}.{option}"
        known = OPTIONS.get(option)
        if known is None:
            raise InvalidRequest(
                f"{where} is not an SNS SMS option; use one of {', '.join(sorted(OPTIONS))}",
                field=where,
                provider=provider,
            )
        name, data_type, convert = known
        try:
            put(name, data_type, convert(value), where)
        except ValueError as exc:
            raise InvalidRequest(f"{where} {exc}", field=where, provider=provider) from None
    params = {"PhoneNumber": message.to, "Message": message.body, "MessageAttributes": attributes}
    return Publish(params, fields)


def _sender(sender: str, provider: str) -> tuple[str, str, str]:
    """The attribute naming the sender: an origination number or a sender id."""
    if sender.startswith("+"):
        return "AWS.MM.SMS.OriginationNumber", "String", sender
    if not _SENDER_ID.fullmatch(sender):
        raise InvalidRequest(
            f"SNS accepts a sender id of 3 to 11 letters and digits without spaces, not "
            f"{sender!r}: e.g. 'AcmeShop', or an E.164 origination number",
            field="sender",
            provider=provider,
        )
    return "AWS.SNS.SMS.SenderID", "String", sender


def _refuse_unexpressible(message: SmsMessage, provider: str) -> None:
    if message.media_urls:
        raise UnsupportedFeature(
            "Amazon SNS sends text messages only; media_urls need an MMS-capable provider",
            feature="media",
            provider=provider,
        )
    if message.status_callback is not None:
        raise UnsupportedFeature(
            "Amazon SNS does not call a URL per message: it writes SMS delivery status to "
            "CloudWatch Logs (SetSMSAttributes DeliveryStatusIAMRole); leave status_callback "
            "unset",
            feature="status_callback",
            provider=provider,
        )
    if message.metadata:
        raise InvalidRequest(
            "Amazon SNS cannot carry metadata with an SMS (custom message attributes are not "
            "delivered or logged); keep it on your side, keyed by the receipt's provider_id",
            field="metadata",
            provider=provider,
        )
