"""Twilio Verify through ``hub.sms.start_verification`` / ``check_verification``."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from pytest_httpx import HTTPXMock

from hub.core import Hub
from hub.errors import InvalidRequest, RateLimited
from tests.plugins.twilio.fake_twilio import (
    CODE,
    MESSAGES_PATH,
    SENDER,
    VERIFY_ROOT,
    FakeTwilio,
    form_of,
)

pytestmark = pytest.mark.anyio

PHONE = "+14155550100"
CHECK_URL = f"https://verify.twilio.com{VERIFY_ROOT}/VerificationCheck"
START_URL = f"https://verify.twilio.com{VERIFY_ROOT}/Verifications"


async def test_start_then_wrong_then_right_code_is_approved_once(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub("twilio_verify")
    started = await hub.sms.start_verification("+1 415 555 0100")
    assert started.provider == "twilio_verify"
    assert started.to == PHONE
    assert started.channel == "sms"
    assert started.message_id is not None
    assert started.message_id.startswith("VE")
    assert started.expires_at is not None
    assert started.max_checks == 5
    start = mocked.requests[0]
    assert str(start.url) == START_URL
    assert form_of(start) == [("To", PHONE), ("Channel", "sms")]

    wrong = await hub.sms.check_verification(PHONE, "000000")
    assert wrong.status == "incorrect"
    assert not wrong
    right = await hub.sms.check_verification(PHONE, " 123-456 ")
    assert right.status == "approved"
    assert right
    assert form_of(mocked.requests[-1]) == [("To", PHONE), ("Code", CODE)]
    again = await hub.sms.check_verification(PHONE, CODE)
    assert again.status == "expired", "an approved verification is gone: a code passes once"


async def test_expired_verification_is_expired(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub("twilio_verify")
    await hub.sms.start_verification(PHONE)
    mocked.expire(PHONE)  # ten minutes later Twilio answers the check with 404 (20404)
    result = await hub.sms.check_verification(PHONE, CODE)
    assert result.status == "expired"
    assert not result


async def test_too_many_wrong_codes_end_the_verification(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub("twilio_verify")
    await hub.sms.start_verification(PHONE)
    for _ in range(5):
        assert (await hub.sms.check_verification(PHONE, "000000")).status == "incorrect"
    spent = await hub.sms.check_verification(PHONE, CODE)  # Twilio: 429, code 60202
    assert spent.status == "too_many_attempts"
    assert spent.attempts_remaining == 0


async def test_sixth_send_within_ten_minutes_is_rate_limited_and_not_retried(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub("twilio_verify", attempts=3)
    for _ in range(5):
        await hub.sms.start_verification(PHONE)
    with pytest.raises(RateLimited) as caught:
        await hub.sms.start_verification(PHONE)
    assert caught.value.vendor_code == "60203"
    assert caught.value.retryable is False
    assert len(mocked.requests) == 6, "retrying within Twilio's window cannot help"


@pytest.mark.parametrize("channel", ["call", "whatsapp"])
async def test_other_channels_go_to_twilio(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub], channel: str
) -> None:
    started = await twilio_hub("twilio_verify").sms.start_verification(PHONE, channel)
    assert started.channel == channel
    assert ("Channel", channel) in form_of(mocked.requests[0])


async def test_a_channel_that_cannot_reach_a_phone_is_refused(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await twilio_hub("twilio_verify").sms.start_verification(PHONE, "email")
    assert caught.value.field == "channel"
    assert mocked.requests == []


async def test_a_malformed_code_is_refused_without_quoting_it(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    hub = twilio_hub("twilio_verify")
    with pytest.raises(InvalidRequest) as caught:
        await hub.sms.check_verification(PHONE, "12!")
    assert caught.value.field == "code"
    assert "12!" not in str(caught.value)
    assert mocked.requests == []


async def test_verify_provider_sends_ordinary_messages_through_messaging(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    receipt = await twilio_hub("twilio_verify").sms.send(PHONE, "hello", SENDER)
    assert receipt.provider == "twilio_verify"
    assert mocked.requests[0].url.path == MESSAGES_PATH


async def test_plain_twilio_provider_uses_the_builtin_verifier_over_messaging(
    mocked: FakeTwilio, twilio_hub: Callable[..., Hub]
) -> None:
    """Without the verification feature, the hub's own codes travel as ordinary messages."""
    hub = twilio_hub("twilio")
    started = await hub.sms.start_verification(PHONE, sender=SENDER)
    assert started.provider == "twilio"
    (request,) = mocked.requests
    assert request.url.path == MESSAGES_PATH
    body = dict(form_of(request))["Body"]
    code = body.rsplit(" ", 1)[-1]
    assert (await hub.sms.check_verification(PHONE, code)).status == "approved"


async def test_missing_verify_service_says_how_to_configure_it(
    make_hub: Callable[..., Hub],
) -> None:
    from tests.plugins.twilio.conftest import sms_settings

    settings = sms_settings("twilio_verify")
    del settings["twilio_verify"]["verify_service_sid"]
    hub = make_hub(sms=settings)
    with pytest.raises(Exception, match="TWILIO_VERIFY_SERVICE_SID"):
        await hub.sms.start_verification(PHONE)


async def test_codes_never_reach_logs_reprs_or_errors(
    httpx_mock: HTTPXMock,
    twilio_hub: Callable[..., Hub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_code = "740219"
    httpx_mock.add_response(
        url=START_URL, status_code=201, json={"sid": "VE" + "1" * 32, "status": "pending"}
    )
    httpx_mock.add_response(
        url=CHECK_URL,
        status_code=200,
        json={"sid": "VE" + "1" * 32, "status": "pending", "valid": False},
    )
    httpx_mock.add_response(
        url=CHECK_URL,
        status_code=400,
        json={"code": 60200, "message": "Invalid parameter", "status": 400},
    )
    caplog.set_level(logging.DEBUG)
    hub = twilio_hub("twilio_verify")
    started = await hub.sms.start_verification(PHONE)
    result = await hub.sms.check_verification(PHONE, secret_code)
    with pytest.raises(InvalidRequest) as caught:
        await hub.sms.check_verification(PHONE, secret_code)
    error = caught.value
    seen = " ".join(
        [
            caplog.text,
            repr(started),
            repr(result),
            str(error),
            repr(error),
            repr(error.raw),
            repr(hub.sms.provider),
        ]
    )
    assert secret_code not in seen
    assert ("Code", secret_code) in form_of(httpx_mock.get_requests()[-1]), "it did go to Twilio"
