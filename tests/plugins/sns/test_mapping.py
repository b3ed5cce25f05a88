"""SmsMessage -> SNS ``Publish``: every field either mapped or refused by name (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from hub_sns.errors import refine
from hub_sns.mapping import publish_request
from hub_sns.settings import SnsSettings

from hub.capabilities.sms import SmsMessage
from hub.errors import InvalidRequest, RateLimited, UnsupportedFeature


def message(**fields: Any) -> SmsMessage:
    return SmsMessage.model_validate({"to": "+447700900000", "body": "Hi", **fields})


def publish(msg: SmsMessage, **settings: Any) -> dict[str, Any]:
    return publish_request(msg, SnsSettings(**settings), provider="sns").params


def test_an_alphanumeric_sender_is_the_sender_id_and_the_type_is_transactional() -> None:
    assert publish(message(sender="AcmeShop")) == {
        "PhoneNumber": "+447700900000",
        "Message": "Hi",
        "MessageAttributes": {
            "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "AcmeShop"},
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        },
    }


def test_an_e164_sender_is_the_origination_number() -> None:
    attributes = publish(message(sender="+1 415 555 0100"))["MessageAttributes"]
    assert attributes["AWS.MM.SMS.OriginationNumber"] == {
        "DataType": "String",
        "StringValue": "+14155550100",
    }
    assert "AWS.SNS.SMS.SenderID" not in attributes


def test_without_a_sender_sns_chooses_one() -> None:
    assert list(publish(message())["MessageAttributes"]) == ["AWS.SNS.SMS.SMSType"]


def test_settings_give_the_defaults_and_provider_options_override_them() -> None:
    settings = {"sms_type": "promotional", "max_price": "0.05"}
    defaults = publish(message(), **settings)["MessageAttributes"]
    assert defaults["AWS.SNS.SMS.SMSType"]["StringValue"] == "Promotional"
    assert defaults["AWS.SNS.SMS.MaxPrice"] == {"DataType": "Number", "StringValue": "0.05"}
    options = {
        "sms_type": "Transactional",
        "max_price": 0.2,
        "entity_id": "E1",
        "template_id": "T9",
    }
    overridden = publish(message(provider_options={"sns": options}), **settings)
    assert overridden["MessageAttributes"] == {
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        "AWS.SNS.SMS.MaxPrice": {"DataType": "Number", "StringValue": "0.2"},
        "AWS.MM.SMS.EntityId": {"DataType": "String", "StringValue": "E1"},
        "AWS.MM.SMS.TemplateId": {"DataType": "String", "StringValue": "T9"},
    }


def test_other_vendors_options_are_left_to_them() -> None:
    msg = message(provider_options={"twilio": {"validity_period": 60}})
    assert list(publish(msg)["MessageAttributes"]) == ["AWS.SNS.SMS.SMSType"]


@pytest.mark.parametrize(
    ("options", "field", "said"),
    [
        ({"validity": 60}, "provider_options.sns.validity", "not an SNS SMS option"),
        ({"sms_type": "urgent"}, "provider_options.sns.sms_type", "Transactional"),
        ({"max_price": "cheap"}, "provider_options.sns.max_price", "price in USD"),
        ({"max_price": -1}, "provider_options.sns.max_price", "positive"),
        ({"max_price": True}, "provider_options.sns.max_price", "price in USD"),
        ({"entity_id": " "}, "provider_options.sns.entity_id", "non-empty"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], field: str, said: str) -> None:
    with pytest.raises(InvalidRequest, match=said) as caught:
        publish(message(provider_options={"sns": options}))
    assert caught.value.field == field


@pytest.mark.parametrize("sender", ["Acme Shop", "AB"])
def test_sender_ids_sns_refuses_are_refused_before_sending(sender: str) -> None:
    with pytest.raises(InvalidRequest, match="3 to 11 letters and digits") as caught:
        publish(message(sender=sender))
    assert caught.value.field == "sender"


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"media_urls": ["https://example.com/a.png"]}, UnsupportedFeature, "media"),
        ({"status_callback": "https://example.com/cb"}, UnsupportedFeature, "status_callback"),
        ({"metadata": {"order": "42"}}, InvalidRequest, "metadata"),
    ],
)
def test_what_sns_cannot_carry_is_refused_by_name(
    fields: dict[str, Any], error: type[InvalidRequest], field: str
) -> None:
    with pytest.raises(error) as caught:
        publish(message(**fields))
    assert caught.value.field == field


def test_settings_refuse_an_unknown_sms_type() -> None:
    with pytest.raises(ValueError, match="Transactional' or 'Promotional"):
        SnsSettings(sms_type="bulk")


FIELDS = publish_request(
    message(sender="Acme", provider_options={"sns": {"max_price": "0.1"}}),
    SnsSettings(),
    provider="sns",
).fields


@pytest.mark.parametrize(
    ("said", "field"),
    [
        ("Invalid parameter: PhoneNumber Reason: +447700900000 is not valid to publish", "to"),
        ("Invalid parameter: Message too long", "body"),
        ("Invalid parameter: MessageAttributes Reason: unknown attribute", "provider_options.sns"),
        (
            "Could not cast message attribute 'AWS.SNS.SMS.MaxPrice' value to number.",
            "provider_options.sns.max_price",
        ),
        ("Invalid parameter: AWS.SNS.SMS.SenderID is not registered", "sender"),
        ("Phone number does not meet the E164 format", "to"),
        ("Invalid parameter: AWS.SNS.SMS.SMSType", "sms_type"),
    ],
)
def test_refusals_name_the_hub_field_behind_the_sns_parameter(said: str, field: str) -> None:
    error = InvalidRequest(said, provider="sns", vendor_code="InvalidParameter", raw={"x": 1})
    refined = refine(error, FIELDS, provider="sns")
    assert isinstance(refined, InvalidRequest)
    assert refined.field == field
    assert (refined.vendor_code, refined.raw) == ("InvalidParameter", {"x": 1})
    assert refined.message.startswith(said)


def test_refine_leaves_other_errors_and_unnamed_fields_alone() -> None:
    throttled = RateLimited("slow down", provider="sns")
    assert refine(throttled, FIELDS, provider="sns") is throttled
    vague = InvalidRequest("Invalid parameter", provider="sns")
    assert refine(vague, FIELDS, provider="sns") is vague


def test_opted_out_names_the_recipient() -> None:
    error = InvalidRequest("x", provider="sns", vendor_code="OptedOut")
    refined = refine(error, FIELDS, provider="sns")
    assert isinstance(refined, InvalidRequest)
    assert refined.field == "to"
    assert "opted out" in refined.message
