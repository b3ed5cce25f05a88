"""Sending through Amazon SNS on moto's server: what goes over the wire and what moto publishes."""

from __future__ import annotations

from typing import Any

import pytest

from hub import Hub
from hub.capabilities.sms import count_segments
from hub.errors import InvalidRequest, UnsupportedFeature
from tests.plugins.sns._support import (
    CREDENTIALS,
    Recorder,
    attributes,
    hub_settings,
    intercept,
    moto_sms,
    sns_provider,
)

pytestmark = pytest.mark.anyio


async def wire(hub: Hub, operation: str = "Publish") -> Recorder:
    """Record every ``operation`` request on its way to moto."""
    return await intercept(hub, Recorder(), operation)


async def test_a_message_reaches_moto_with_its_sms_attributes(sns_hub: Hub) -> None:
    sent = await wire(sns_hub)
    receipt = await sns_hub.sms.send("+44 7700 900123", "Your code is 123456", "AcmeShop")

    assert moto_sms()[receipt.provider_id or ""] == ("+447700900123", "Your code is 123456")
    [form] = sent.forms
    assert (form["Action"], form["PhoneNumber"], form["Message"]) == (
        "Publish",
        "+447700900123",
        "Your code is 123456",
    )
    assert attributes(form) == {
        "AWS.SNS.SMS.SenderID": ("String", "AcmeShop"),
        "AWS.SNS.SMS.SMSType": ("String", "Transactional"),
    }
    assert receipt.provider == "sns"
    assert receipt.to == "+447700900123"
    assert receipt.status == "queued"
    assert receipt.segments == 1
    assert receipt.raw["MessageId"] == receipt.provider_id
    assert receipt.raw["RequestId"]


async def test_an_e164_sender_and_per_message_options_go_as_attributes(moto_url: str) -> None:
    settings = hub_settings(moto_url, sms_type="Promotional", max_price="0.10")
    async with Hub.from_settings(**settings) as hub:
        sent = await wire(hub)
        options = {"sns": {"sms_type": "transactional", "entity_id": "1101", "template_id": "77"}}
        receipt = await hub.sms.send(
            "+919876543210", "OTP 4821", "+1 415 555 0100", provider_options=options
        )
    assert moto_sms()[receipt.provider_id or ""] == ("+919876543210", "OTP 4821")
    assert attributes(sent.forms[0]) == {
        "AWS.MM.SMS.OriginationNumber": ("String", "+14155550100"),
        "AWS.SNS.SMS.SMSType": ("String", "Transactional"),
        "AWS.SNS.SMS.MaxPrice": ("Number", "0.10"),
        "AWS.MM.SMS.EntityId": ("String", "1101"),
        "AWS.MM.SMS.TemplateId": ("String", "77"),
    }


async def test_a_long_unicode_body_arrives_whole_and_is_billed_by_segment(sns_hub: Hub) -> None:
    body = "Grüße aus Köln 🙂 " * 20
    receipt = await sns_hub.sms.send("+4930901820", body, "Acme")
    assert moto_sms()[receipt.provider_id or ""] == ("+4930901820", body)
    assert receipt.segments == count_segments(body) > 1


async def test_a_repeated_idempotency_key_publishes_once(sns_hub: Hub) -> None:
    sent = await wire(sns_hub)
    first = await sns_hub.sms.send("+14155550101", "Shipped", "Acme", idempotency_key="o-42")
    again = await sns_hub.sms.send("+14155550101", "Shipped", "Acme", idempotency_key="o-42")
    assert again.provider_id == first.provider_id
    assert len(sent.forms) == 1


@pytest.mark.parametrize(
    ("options", "feature"),
    [
        ({"media_urls": ["https://example.com/cat.png"]}, "media"),
        ({"status_callback": "https://example.com/sms-status"}, "status_callback"),
    ],
)
async def test_features_sns_lacks_are_refused_before_anything_is_sent(
    sns_hub: Hub, options: dict[str, Any], feature: str
) -> None:
    sent = await wire(sns_hub)
    with pytest.raises(UnsupportedFeature) as caught:
        await sns_hub.sms.send("+14155550102", "Look", "Acme", **options)
    assert caught.value.feature == feature
    assert sent.forms == []


async def test_send_many_sends_each_message_with_its_own_publish(sns_hub: Hub) -> None:
    sent = await wire(sns_hub)
    numbers = ["+14155550110", "+14155550111", "+14155550112"]
    results = await sns_hub.sms.send_many(
        [{"to": n, "body": f"hello {n}", "sender": "Acme"} for n in numbers]
    )
    published = moto_sms()
    for number, result in zip(numbers, results, strict=True):
        assert result.receipt is not None, result.error
        assert published[result.receipt.provider_id or ""] == (number, f"hello {number}")
    assert sorted(form["PhoneNumber"] for form in sent.forms) == numbers


async def test_check_opt_out_refuses_a_number_that_opted_out(moto_url: str) -> None:
    # moto answers CheckIfPhoneNumberIsOptedOut with true for numbers ending in 99.
    async with Hub.from_settings(**hub_settings(moto_url, check_opt_out=True)) as hub:
        checked, sent = await wire(hub, "CheckIfPhoneNumberIsOptedOut"), await wire(hub)
        with pytest.raises(InvalidRequest, match="opted out") as caught:
            await hub.sms.send("+14155550199", "Sale!", "Acme")
        assert (caught.value.field, caught.value.vendor_code) == ("to", "OptedOut")
        assert not caught.value.retryable
        assert sent.forms == []

        receipt = await hub.sms.send("+14155550120", "Sale!", "Acme")
    assert moto_sms()[receipt.provider_id or ""] == ("+14155550120", "Sale!")
    assert [form["phoneNumber"] for form in checked.forms] == ["+14155550199", "+14155550120"]


async def test_without_check_opt_out_no_check_is_made(sns_hub: Hub) -> None:
    checked = await wire(sns_hub, "CheckIfPhoneNumberIsOptedOut")
    await sns_hub.sms.send("+14155550121", "Hi", "Acme")
    assert checked.forms == []


async def test_the_secret_key_is_in_no_repr(sns_hub: Hub) -> None:
    sns = sns_provider(sns_hub)
    secret = CREDENTIALS["secret_access_key"]
    assert secret not in repr(sns) + repr(sns.settings) + str(sns.settings.model_dump())
