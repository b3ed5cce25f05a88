"""The Vonage provider: the exact request it sends, its receipts and every documented status."""

from __future__ import annotations

import httpx
import pytest
from hub_vonage.signing import signature
from pytest_httpx import HTTPXMock

from hub.errors import (
    AuthenticationError,
    ConfigurationError,
    HubError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    Unavailable,
    UnsupportedFeature,
)
from hub.testing.clock import FakeClock
from tests.plugins.vonage.conftest import MakeHub
from tests.plugins.vonage.fake_vonage import (
    API_KEY,
    API_SECRET,
    SIGNATURE_SECRET,
    FakeVonage,
    ok_part,
    refused_part,
)

pytestmark = pytest.mark.anyio

URL = "https://rest.nexmo.com/sms/json"
FAST_RETRIES = {"attempts": 3, "wait_initial": 0.0, "wait_jitter": 0.0}


async def test_send_maps_every_field_of_the_message(
    make_vonage_hub: MakeHub, vonage: FakeVonage
) -> None:
    hub = make_vonage_hub()
    receipt = await hub.sms.send(
        {
            "to": "+44 7700-900000",
            "body": "Your parcel arrives today.",
            "sender": "Acme",
            "status_callback": "https://example.com/webhooks/vonage",
            "metadata": {"order": "42"},
            "provider_options": {
                "vonage": {"ttl": 900_000, "message_class": 1, "entity_id": "1101456324675322134"},
                "twilio": {"validity_period": 60},  # for another provider of the chain
            },
        }
    )
    assert vonage.requests == [
        {
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "from": "Acme",
            "to": "447700900000",
            "text": "Your parcel arrives today.",
            "type": "text",
            "callback": "https://example.com/webhooks/vonage",
            "status-report-req": "true",
            "client-ref": "order=42",
            "ttl": "900000",
            "message-class": "1",
            "entity-id": "1101456324675322134",
        }
    ]
    assert receipt.provider == "vonage"
    assert receipt.provider_id == "0A0000001234567B"  # the first id the fake hands out
    assert receipt.to == "+447700900000"
    assert receipt.status == "queued"
    assert receipt.segments == 1
    assert receipt.raw["message_ids"] == [receipt.provider_id]
    assert receipt.raw["messages"][0]["remaining-balance"] == "3.14159265"


async def test_a_number_sender_loses_its_plus_and_the_key_goes_in_client_ref(
    make_vonage_hub: MakeHub, vonage: FakeVonage
) -> None:
    hub = make_vonage_hub()
    await hub.sms.send("+14155550100", "Hi", "+15005550006", idempotency_key="order-42-sms")
    sent = vonage.requests[0]
    assert (sent["from"], sent["to"]) == ("15005550006", "14155550100")
    assert sent["client-ref"] == "order-42-sms"
    assert "callback" not in sent
    assert "status-report-req" not in sent


async def test_unicode_goes_as_unicode_and_every_part_is_kept(
    make_vonage_hub: MakeHub, vonage: FakeVonage
) -> None:
    hub = make_vonage_hub()
    body = "Grüße aus Köln — 🙂 " * 6  # UCS-2, 120 characters: two concatenated parts
    receipt = await hub.sms.send("+4930901820", body, "Acme")
    assert vonage.requests[0]["type"] == "unicode"
    assert vonage.requests[0]["text"] == body
    assert receipt.segments == 2
    assert len(receipt.raw["message_ids"]) == 2
    assert receipt.provider_id == receipt.raw["message_ids"][0]
    assert receipt.raw["message-count"] == "2"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"metadata": {"note": "x" * 120}}, "metadata"),
        ({"status_callback": "https://example.com/" + "x" * 100}, "status_callback"),
        ({"provider_options": {"vonage": {"udh": "0605"}}}, "provider_options.vonage.udh"),
        ({"provider_options": {"vonage": {"ttl": 5}}}, "provider_options.vonage.ttl"),
        ({"provider_options": {"vonage": {"ttl": True}}}, "provider_options.vonage.ttl"),
        (
            {"provider_options": {"vonage": {"message_class": 7}}},
            "provider_options.vonage.message_class",
        ),
        (
            {"provider_options": {"vonage": {"status_report_req": "yes"}}},
            "provider_options.vonage.status_report_req",
        ),
    ],
    ids=["metadata", "callback", "unknown-option", "ttl-range", "ttl-bool", "class", "flag"],
)
async def test_what_vonage_cannot_express_is_refused_before_sending(
    make_vonage_hub: MakeHub, vonage: FakeVonage, fields: dict[str, object], field: str
) -> None:
    hub = make_vonage_hub()
    message = {"to": "+14155550100", "body": "Hi", "sender": "Acme", **fields}
    with pytest.raises(InvalidRequest) as caught:
        await hub.sms.send(message)
    assert caught.value.field == field
    assert vonage.requests == []


async def test_media_needs_another_provider(make_vonage_hub: MakeHub, vonage: FakeVonage) -> None:
    hub = make_vonage_hub()
    with pytest.raises(UnsupportedFeature) as caught:
        await hub.sms.send(
            "+14155550100", "Look", "Acme", media_urls=["https://example.com/cat.jpg"]
        )
    assert caught.value.feature == "media"
    assert vonage.requests == []


# -- every documented status: HTTP 200 with a non-zero status is an error ----------------------

STATUS_ERRORS = [
    # code, error type, retryable, failover_safe, field
    ("1", RateLimited, True, True, None),
    ("2", InvalidRequest, False, False, None),
    ("3", InvalidRequest, False, False, None),
    ("4", AuthenticationError, False, True, None),
    ("5", Unavailable, True, True, None),
    ("6", InvalidRequest, False, False, "to"),
    ("7", InvalidRequest, False, False, "to"),
    ("8", ProviderError, False, True, None),
    ("9", ProviderError, False, True, None),
    ("10", RateLimited, True, True, None),
    ("11", ProviderError, False, True, None),
    ("12", InvalidRequest, False, False, "body"),
    ("14", AuthenticationError, False, True, None),
    ("15", InvalidRequest, False, False, "sender"),
    ("23", InvalidRequest, False, False, "status_callback"),
    ("29", InvalidRequest, False, False, "to"),
    ("99", ProviderError, False, False, None),
]


@pytest.mark.parametrize(
    ("code", "error_type", "retryable", "failover_safe", "field"),
    STATUS_ERRORS,
    ids=[row[0] for row in STATUS_ERRORS],
)
async def test_each_status_maps_onto_the_error_tree(
    make_vonage_hub: MakeHub,
    vonage: FakeVonage,
    code: str,
    error_type: type[HubError],
    retryable: bool,
    failover_safe: bool,
    field: str | None,
) -> None:
    hub = make_vonage_hub()
    vonage.refuse_next(code)
    with pytest.raises(HubError) as caught:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    error = caught.value
    assert type(error) is error_type, f"{type(error).__name__}: {error}"
    assert (error.retryable, error.failover_safe) == (retryable, failover_safe)
    assert isinstance(error, ProviderError | InvalidRequest)
    assert error.provider == "vonage"
    assert error.vendor_code == code
    assert f"code {code}" in str(error)
    assert error.raw is not None
    assert f'"status":"{code}"' in error.raw["body"]
    if isinstance(error, InvalidRequest):
        assert error.field == field


async def test_quota_exceeded_says_payment_is_required(
    make_vonage_hub: MakeHub, vonage: FakeVonage
) -> None:
    hub = make_vonage_hub()
    vonage.refuse_next("9")
    with pytest.raises(ProviderError, match="payment required") as caught:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    assert "Partner Quota Violation: Quota Exceeded - rejected" in str(caught.value)


async def test_throttling_is_retried_and_then_succeeds(
    make_vonage_hub: MakeHub, vonage: FakeVonage
) -> None:
    hub = make_vonage_hub(resilience={"retry": FAST_RETRIES})
    vonage.refuse_next("1", times=2)
    receipt = await hub.sms.send("+14155550100", "Hi", "Acme")
    assert receipt.attempts == 3
    assert len(vonage.requests) == 3


async def test_a_part_refused_after_others_were_accepted_is_never_repeated(
    make_vonage_hub: MakeHub, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        url=URL,
        json={
            "message-count": "2",
            "messages": [ok_part("14155550100", "0A01"), refused_part("5")],
        },
    )
    hub = make_vonage_hub(resilience={"retry": FAST_RETRIES})
    with pytest.raises(ProviderError) as caught:
        await hub.sms.send("+14155550100", "ü" * 100, "Acme")
    error = caught.value
    assert (error.retryable, error.failover_safe) == (False, False)
    assert "0A01" in str(error)
    assert "part 2 of 2" in str(error)
    assert len(httpx_mock.get_requests()) == 1


# -- HTTP-level failures and odd answers ----------------------------------------------------------


async def test_http_errors_use_the_hub_mapping_and_retry_after(
    make_vonage_hub: MakeHub, httpx_mock: HTTPXMock
) -> None:
    hub = make_vonage_hub()
    httpx_mock.add_response(
        url=URL,
        status_code=401,
        json={
            "type": "https://developer.nexmo.com/api-errors#unauthorized",
            "title": "Unauthorized",
            "detail": "You did not provide correct credentials.",
        },
    )
    with pytest.raises(AuthenticationError, match="correct credentials"):
        await hub.sms.send("+14155550100", "Hi", "Acme")
    httpx_mock.add_response(url=URL, status_code=429, headers={"Retry-After": "3"}, text="slow")
    with pytest.raises(RateLimited) as limited:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    assert limited.value.retry_after == 3.0
    httpx_mock.add_response(url=URL, status_code=502, text="<html>Bad Gateway</html>")
    with pytest.raises(Unavailable) as down:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    assert down.value.failover_safe is False


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json={"message-count": "0", "messages": []}),
        httpx.Response(200, json={"message-count": "1", "messages": [{"status": "0"}]}),
    ],
    ids=["html", "no-parts", "no-id"],
)
async def test_an_unreadable_success_is_not_retried(
    make_vonage_hub: MakeHub, httpx_mock: HTTPXMock, response: httpx.Response
) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=response.status_code,
        content=response.content,
        headers=dict(response.headers),
    )
    hub = make_vonage_hub(resilience={"retry": FAST_RETRIES})
    with pytest.raises(ProviderError, match="unexpected answer") as caught:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    assert (caught.value.retryable, caught.value.failover_safe) == (False, False)
    assert len(httpx_mock.get_requests()) == 1


# -- signed requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
async def test_signed_requests_carry_sig_and_timestamp_instead_of_the_secret(
    make_vonage_hub: MakeHub, vonage: FakeVonage, clock: FakeClock, method: str
) -> None:
    vonage.signature_secret, vonage.signature_method = SIGNATURE_SECRET, method  # type: ignore[assignment]
    hub = make_vonage_hub(signature_secret=SIGNATURE_SECRET, signature_method=method.upper())
    receipt = await hub.sms.send("+14155550100", "Signed & sealed = delivered", "Acme")
    sent = vonage.requests[0]
    assert "api_secret" not in sent
    assert sent["api_key"] == API_KEY
    assert sent["timestamp"] == str(int(clock.now()))
    assert sent["sig"] == signature(sent, secret=SIGNATURE_SECRET, method=method)  # type: ignore[arg-type]
    assert receipt.provider_id


async def test_a_wrong_signature_secret_is_an_authentication_error(
    make_vonage_hub: MakeHub, vonage: FakeVonage
) -> None:
    vonage.signature_secret = SIGNATURE_SECRET
    hub = make_vonage_hub(signature_secret="not-the-dashboard-secret", signature_method="sha256")
    with pytest.raises(AuthenticationError, match="VONAGE_SIGNATURE_SECRET") as caught:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    assert caught.value.vendor_code == "14"


async def test_sign_requests_false_keeps_the_api_secret(
    make_vonage_hub: MakeHub, vonage: FakeVonage
) -> None:
    hub = make_vonage_hub(signature_secret=SIGNATURE_SECRET, sign_requests=False)
    await hub.sms.send("+14155550100", "Hi", "Acme")
    assert vonage.requests[0]["api_secret"] == API_SECRET
    assert "sig" not in vonage.requests[0]


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"api_key": None}, "VONAGE_API_KEY"),
        ({"api_secret": None}, "VONAGE_API_SECRET"),
        ({"api_secret": None, "sign_requests": True}, "VONAGE_SIGNATURE_SECRET"),
        ({"signature_method": "sha384"}, "signature_method"),
        ({"base_url": "rest.nexmo.com"}, "base_url"),
    ],
    ids=["no-key", "no-secret", "signing-without-secret", "bad-method", "bad-url"],
)
async def test_missing_or_bad_settings_say_how_to_fix_them(
    make_vonage_hub: MakeHub, section: dict[str, object], says: str
) -> None:
    hub = make_vonage_hub(**section)
    with pytest.raises(ConfigurationError, match=says):
        await hub.sms.send("+14155550100", "Hi", "Acme")
