"""Twilio's documented error answers, each onto the hub's error tree (pytest-httpx)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_httpx import HTTPXMock

from hub.core import Hub
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
)
from tests.plugins.twilio.fake_twilio import AUTH_TOKEN, MESSAGES_PATH, SENDER

pytestmark = pytest.mark.anyio

URL = f"https://api.twilio.com{MESSAGES_PATH}"


def twilio_error(status: int, code: int, message: str) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "code", "message", "field", "hint"),
    [
        (400, 21211, "The 'To' number +15005550001 is not a valid phone number.", "to", "valid"),
        (400, 21614, "'To' number is not a valid mobile number", "to", "mobile"),
        (400, 21610, "Attempt to send to unsubscribed recipient", "to", "replied STOP"),
        (400, 21408, "Permission to send an SMS has not been enabled", "to", "Geo permissions"),
        (400, 21606, "The From phone number is not a valid, SMS-capable...", "sender", "sender"),
        (400, 21617, "The concatenated message body exceeds the 1600 character limit", "body", ""),
        (400, 21620, "Invalid media URL(s)", "media_urls", "media URL"),
        (403, 60410, "Verification delivery attempt blocked", "to", "fraud guard"),
    ],
    ids=["21211", "21614", "21610", "21408", "21606", "21617", "21620", "60410"],
)
async def test_request_errors_are_invalid_requests_naming_the_field(
    httpx_mock: HTTPXMock,
    twilio_hub: Callable[..., Hub],
    status: int,
    code: int,
    message: str,
    field: str,
    hint: str,
) -> None:
    httpx_mock.add_response(url=URL, status_code=status, json=twilio_error(status, code, message))
    hub = twilio_hub(attempts=3)
    with pytest.raises(InvalidRequest) as caught:
        await hub.sms.send("+14155550100", "hi", SENDER)
    error = caught.value
    assert error.vendor_code == str(code)
    assert error.field == field
    assert error.provider == "twilio"
    assert hint in error.message
    assert message[:20] in error.message
    assert error.retryable is False
    assert error.raw["status"] == status
    assert f"errors/{code}" in error.raw["body"], "raw keeps Twilio's answer (more_info)"
    assert len(httpx_mock.get_requests()) == 1, "a bad request is never repeated"


async def test_20003_is_an_authentication_error_with_a_fix(
    httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(url=URL, status_code=401, json=twilio_error(401, 20003, "Authenticate"))
    hub = twilio_hub(attempts=3)
    with pytest.raises(AuthenticationError) as caught:
        await hub.sms.send("+14155550100", "hi", SENDER)
    assert caught.value.vendor_code == "20003"
    assert "TWILIO_AUTH_TOKEN" in caught.value.message
    assert caught.value.retryable is False
    assert caught.value.failover_safe is True
    assert AUTH_TOKEN not in str(caught.value)
    assert AUTH_TOKEN not in repr(caught.value.raw)


async def test_20404_is_not_found(httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub]) -> None:
    httpx_mock.add_response(
        url=URL, status_code=404, json=twilio_error(404, 20404, "The requested resource...")
    )
    with pytest.raises(NotFound) as caught:
        await twilio_hub().sms.send("+14155550100", "hi", SENDER)
    assert caught.value.vendor_code == "20404"


async def test_429_with_20429_is_rate_limited_and_honours_retry_after(
    httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=429,
        headers={"Retry-After": "7"},
        json=twilio_error(429, 20429, "Too Many Requests"),
    )
    with pytest.raises(RateLimited) as caught:
        await twilio_hub().sms.send("+14155550100", "hi", SENDER)
    assert caught.value.vendor_code == "20429"
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable is True
    assert caught.value.failover_safe is True


async def test_rate_limit_is_retried_then_succeeds(
    httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=429,
        headers={"Retry-After": "0"},
        json=twilio_error(429, 20429, "Too Many Requests"),
    )
    httpx_mock.add_response(
        url=URL, status_code=201, json={"sid": "SM" + "2" * 32, "status": "queued"}
    )
    receipt = await twilio_hub(attempts=2).sms.send("+14155550100", "hi", SENDER)
    assert receipt.provider_id == "SM" + "2" * 32
    assert len(httpx_mock.get_requests()) == 2


async def test_full_sender_queue_21611_is_rate_limited_though_http_400(
    httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=400,
        json=twilio_error(400, 21611, "This 'From' number has exceeded the maximum queue"),
    )
    with pytest.raises(RateLimited) as caught:
        await twilio_hub().sms.send("+14155550100", "hi", SENDER)
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    ("status", "failover_safe"), [(503, True), (500, False)], ids=["503", "500"]
)
async def test_server_errors_are_unavailable(
    httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub], status: int, failover_safe: bool
) -> None:
    httpx_mock.add_response(
        url=URL, status_code=status, json=twilio_error(status, 20500, "Internal Server Error")
    )
    with pytest.raises(Unavailable) as caught:
        await twilio_hub().sms.send("+14155550100", "hi", SENDER)
    assert caught.value.retryable is True
    assert caught.value.failover_safe is failover_safe


async def test_a_gateways_html_answer_still_maps_by_status(
    httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(url=URL, status_code=502, text="<html>Bad Gateway</html>")
    with pytest.raises(Unavailable):
        await twilio_hub().sms.send("+14155550100", "hi", SENDER)


async def test_errors_never_carry_the_request_body(
    httpx_mock: HTTPXMock, twilio_hub: Callable[..., Hub]
) -> None:
    """hub.http keeps Twilio's answer in ``raw``, never our form: a body may hold a code."""
    httpx_mock.add_response(url=URL, status_code=400, json=twilio_error(400, 21211, "bad To"))
    with pytest.raises(HubError) as caught:
        await twilio_hub().sms.send("+14155550100", "Your code is 918273", SENDER)
    error = caught.value
    seen = f"{error} {error!r} {getattr(error, 'raw', '')}"
    assert "918273" not in seen
    assert "Body=" not in seen
