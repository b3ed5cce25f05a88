"""The Messaging API call: the exact form sent, the credentials used, the receipt built."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.errors import ConfigurationError, InvalidRequest, ProviderError
from hub.http import override_transport
from tests.plugins.twilio.fake_twilio import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    AUTH_TOKEN,
    MESSAGES_PATH,
    MESSAGING_SERVICE_SID,
    SENDER,
    FakeTwilio,
    form_of,
)

pytestmark = pytest.mark.anyio


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_send_posts_the_whole_message_as_twilios_form(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub()
    receipt = await hub.sms.send(
        "+1 (415) 555-0100",
        "Your parcel is on its way",
        SENDER,
        media_urls=["https://example.com/a.png", "https://example.com/b.png"],
        status_callback="https://hooks.example.com/webhooks/twilio",
        provider_options={
            "twilio": {
                "validity_period": 600,
                "smart_encoded": True,
                "persistent_action": ["mailto:ops@example.com", "geo:37.78,-122.41"],
                "content_variables": {"1": "Ada"},
                "send_at": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
                "max_price": 0.05,
            }
        },
    )
    (request,) = mocked.requests
    assert request.method == "POST"
    assert str(request.url) == f"https://api.twilio.com{MESSAGES_PATH}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"] == basic(ACCOUNT_SID, AUTH_TOKEN)
    assert form_of(request) == [
        ("To", "+14155550100"),
        ("Body", "Your parcel is on its way"),
        ("From", SENDER),
        ("MediaUrl", "https://example.com/a.png"),
        ("MediaUrl", "https://example.com/b.png"),
        ("StatusCallback", "https://hooks.example.com/webhooks/twilio"),
        ("ValidityPeriod", "600"),
        ("SmartEncoded", "true"),
        ("PersistentAction", "mailto:ops@example.com"),
        ("PersistentAction", "geo:37.78,-122.41"),
        ("ContentVariables", '{"1":"Ada"}'),
        ("SendAt", "2030-01-02T03:04:05+00:00"),
        ("MaxPrice", "0.05"),
    ]
    assert receipt.provider == "twilio"
    assert receipt.provider_id is not None
    assert receipt.provider_id.startswith("MM")
    assert receipt.to == "+14155550100"
    assert receipt.status == "queued"
    assert receipt.segments == 1


async def test_receipt_keeps_twilios_answer_but_never_the_text(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub()
    receipt = await hub.sms.send("+14155550100", "Your code is 981273", SENDER)
    assert receipt.raw["sid"] == receipt.provider_id
    assert receipt.raw["num_segments"] == "1"
    assert receipt.raw["direction"] == "outbound-api"
    assert "body" not in receipt.raw, "one-time codes must not be kept in remembered receipts"
    assert "981273" not in repr(receipt)
    assert "981273" not in receipt.model_dump_json()


async def test_billed_segments_come_from_twilios_num_segments(
    make_hub: Callable[..., Hub],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # Twilio's count is what is billed, even where it differs from the hub's estimate.
        return httpx.Response(
            201, json={"sid": "SM" + "1" * 32, "status": "queued", "num_segments": "4"}
        )

    hub = make_hub(sms=_sms())
    with override_transport(httpx.MockTransport(handler)):
        receipt = await hub.sms.send("+14155550100", "Ж" * 150, SENDER)
    assert receipt.segments == 4


async def test_messaging_service_sends_with_the_service_and_counts_segments_itself(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub(messaging_service_sid=MESSAGING_SERVICE_SID)
    receipt = await hub.sms.send("+14155550100", "x" * 161, SENDER)
    pairs = dict(form_of(mocked.requests[0]))
    assert pairs["MessagingServiceSid"] == MESSAGING_SERVICE_SID
    assert pairs["From"] == SENDER
    # Twilio answers "accepted" and num_segments "0" until the service picks a sender.
    assert receipt.status == "queued"
    assert receipt.raw["num_segments"] == "0"
    assert receipt.segments == 2


async def test_with_a_messaging_service_a_message_needs_no_sender(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    """Twilio declares "sender_pool": no sender and no default, the service picks one."""
    hub = twilio_hub(messaging_service_sid=MESSAGING_SERVICE_SID)
    receipt = await hub.sms.send("+14155550100", "hi")
    pairs = dict(form_of(mocked.requests[0]))
    assert pairs["MessagingServiceSid"] == MESSAGING_SERVICE_SID
    assert "From" not in pairs
    assert receipt.provider == "twilio"


async def test_without_sender_or_messaging_service_twilio_says_how_to_configure_one(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub()
    with pytest.raises(InvalidRequest) as caught:
        await hub.sms.send("+14155550100", "hi")
    assert caught.value.field == "sender"
    assert "TWILIO_MESSAGING_SERVICE_SID" in str(caught.value)
    assert "HUB_SMS__DEFAULT_SENDER" in str(caught.value)
    assert mocked.requests == [], "nothing may reach Twilio"


async def test_per_message_service_option_overrides_the_setting(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    other = "MG" + "e" * 32
    hub = twilio_hub(messaging_service_sid=MESSAGING_SERVICE_SID)
    await hub.sms.send(
        "+14155550100",
        "hi",
        SENDER,
        provider_options={"twilio": {"messaging_service_sid": other}},
    )
    assert dict(form_of(mocked.requests[0]))["MessagingServiceSid"] == other


async def test_default_status_callback_setting_applies(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub(status_callback="https://hooks.example.com/webhooks/twilio")
    await hub.sms.send("+14155550100", "hi", SENDER)
    assert dict(form_of(mocked.requests[0]))["StatusCallback"] == (
        "https://hooks.example.com/webhooks/twilio"
    )


async def test_alphanumeric_sender_is_sent_as_from(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub()
    await hub.sms.send("+447700900123", "hi", "Acme")
    assert dict(form_of(mocked.requests[0]))["From"] == "Acme"


async def test_api_key_authenticates_instead_of_the_auth_token(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub(api_key_sid=API_KEY_SID, api_key_secret=API_KEY_SECRET)
    await hub.sms.send("+14155550100", "hi", SENDER)
    (request,) = mocked.requests
    assert request.headers["authorization"] == basic(API_KEY_SID, API_KEY_SECRET)
    assert request.url.path == MESSAGES_PATH, "the account SID stays in the URL"


async def test_conventional_env_variables_configure_the_provider(
    mocked: FakeTwilio, make_hub: Callable[..., Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_API_KEY", API_KEY_SID)
    monkeypatch.setenv("TWILIO_API_SECRET", API_KEY_SECRET)
    hub = make_hub(sms={"provider": "twilio", "providers": ["twilio"]})
    receipt = await hub.sms.send("+14155550100", "hi", SENDER)
    assert receipt.provider == "twilio"
    assert mocked.requests[0].headers["authorization"] == basic(API_KEY_SID, API_KEY_SECRET)


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"auth_token": AUTH_TOKEN}, "TWILIO_ACCOUNT_SID"),
        ({"account_sid": ACCOUNT_SID}, "TWILIO_AUTH_TOKEN"),
        ({"account_sid": ACCOUNT_SID, "api_key_sid": API_KEY_SID}, "TWILIO_API_SECRET"),
    ],
    ids=["no-account", "no-credentials", "half-an-api-key"],
)
async def test_missing_credentials_say_which_variable_to_set(
    make_hub: Callable[..., Hub], section: dict[str, str], needle: str
) -> None:
    hub = make_hub(sms={"provider": "twilio", "providers": ["twilio"], "twilio": section})
    with pytest.raises(ConfigurationError) as caught:
        await hub.sms.send("+14155550100", "hi", SENDER)
    assert needle in str(caught.value)
    assert AUTH_TOKEN not in str(caught.value)


async def test_malformed_sid_is_refused_without_echoing_secrets(
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(
        sms={
            "provider": "twilio",
            "providers": ["twilio"],
            "twilio": {"account_sid": "AC123", "auth_token": AUTH_TOKEN},
        }
    )
    with pytest.raises(ConfigurationError) as caught:
        await hub.sms.send("+14155550100", "hi", SENDER)
    assert "account_sid" in str(caught.value)
    assert "32 hex digits" in str(caught.value)
    assert AUTH_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"metadata": {"order": "42"}}, "metadata"),
        ({"media_urls": [f"https://example.com/{n}.png" for n in range(11)]}, "media_urls"),
        ({"provider_options": {"twilio": {"colour": "red"}}}, "provider_options.twilio.colour"),
        ({"provider_options": {"twilio": {"body": "other"}}}, "provider_options.twilio.body"),
        (
            {"provider_options": {"twilio": {"send_at": datetime(2030, 1, 1)}}},
            "provider_options.twilio.send_at",
        ),
        (
            {"provider_options": {"twilio": {"attempt": object()}}},
            "provider_options.twilio.attempt",
        ),
    ],
    ids=[
        "metadata",
        "eleven-media-urls",
        "unknown-option",
        "option-shadowing-a-field",
        "naive-send-at",
        "odd-value",
    ],
)
async def test_what_twilio_cannot_express_is_refused_naming_the_field(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub], fields: dict[str, Any], field: str
) -> None:
    hub = twilio_hub()
    with pytest.raises(InvalidRequest) as caught:
        await hub.sms.send("+14155550100", "hi", SENDER, **fields)
    assert caught.value.field == field
    assert mocked.requests == [], "nothing may reach Twilio"


async def test_success_without_json_is_not_retried_or_failed_over(
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(sms={**_sms(), "resilience": {"retry": {"attempts": 3}}})
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, text="<html>created</html>")

    with override_transport(httpx.MockTransport(handler)), pytest.raises(ProviderError) as caught:
        await hub.sms.send("+14155550100", "hi", SENDER)
    assert len(calls) == 1, "the message may have gone out: never repeat it"
    assert caught.value.retryable is False
    assert caught.value.failover_safe is False


def _sms() -> dict[str, object]:
    from tests.plugins.twilio.conftest import sms_settings

    return sms_settings()
