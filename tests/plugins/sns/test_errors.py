"""SNS's documented errors, answered as SNS sends them, land on the hub's error tree."""

from __future__ import annotations

import socket

import pytest

from hub import Hub
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
)
from tests.plugins.sns._support import CREDENTIALS, Recorder, aws_error, hub_settings, intercept

pytestmark = pytest.mark.anyio


async def answer(hub: Hub, status: int, code: str, message: str, *, sender: bool = True) -> None:
    """Every Publish from now on is answered with this documented SNS error."""
    await intercept(hub, Recorder(lambda form: aws_error(status, code, message, sender=sender)))


# (HTTP status, Error.Code, Error.Message) as the SNS API reference documents each error.
@pytest.mark.parametrize(
    ("status", "code", "said", "error", "field"),
    [
        (
            400,
            "InvalidParameter",
            "Invalid parameter: PhoneNumber Reason: +447700900000 is not valid to publish to",
            InvalidRequest,
            "to",
        ),
        (400, "InvalidParameter", "Invalid parameter: Message too long", InvalidRequest, "body"),
        (
            400,
            "ParameterValueInvalid",
            "Invalid parameter: AWS.SNS.SMS.SenderID Reason: not registered for this country",
            InvalidRequest,
            "sender",
        ),
        (400, "ValidationException", "1 validation error detected", InvalidRequest, None),
        (400, "OptedOut", "Phone number is opted out", InvalidRequest, "to"),
    ],
)
async def test_refusals_are_invalid_requests_naming_the_field(
    sns_hub: Hub, status: int, code: str, said: str, error: type[HubError], field: str | None
) -> None:
    await answer(sns_hub, status, code, said)
    with pytest.raises(error) as caught:
        await sns_hub.sms.send("+447700900000", "Hello", "Acme")
    assert isinstance(caught.value, InvalidRequest)
    assert caught.value.field == field
    assert caught.value.vendor_code == code
    assert caught.value.provider == "sns"
    assert (caught.value.retryable, caught.value.failover_safe) == (False, False)
    if code == "OptedOut":
        assert "opted out" in caught.value.message


@pytest.mark.parametrize(
    ("status", "code", "said", "error", "retryable", "failover_safe"),
    [
        (429, "Throttled", "Rate exceeded", RateLimited, True, True),
        (403, "AuthorizationError", "User is not authorized to perform: SNS:Publish",
         AuthenticationError, False, True),
        (403, "InvalidClientTokenId", "The security token included in the request is invalid.",
         AuthenticationError, False, True),
        (403, "InvalidSecurity", "The credential signature isn't valid.",
         AuthenticationError, False, True),
        (404, "NotFound", "Resource does not exist", NotFound, False, False),
        (500, "InternalError", "Internal Error", Unavailable, True, False),
        (503, "ServiceUnavailable", "Service is unavailable", Unavailable, True, True),
    ],
)  # fmt: skip
async def test_vendor_failures_carry_the_pipelines_decisions(
    sns_hub: Hub,
    status: int,
    code: str,
    said: str,
    error: type[HubError],
    retryable: bool,
    failover_safe: bool,
) -> None:
    await answer(sns_hub, status, code, said, sender=status < 500)
    with pytest.raises(error) as caught:
        await sns_hub.sms.send("+447700900000", "Hello", "Acme")
    found = caught.value
    assert (found.retryable, found.failover_safe) == (retryable, failover_safe)
    assert getattr(found, "vendor_code", None) == code
    assert getattr(found, "status", None) == status
    assert said in found.message
    assert CREDENTIALS["secret_access_key"] not in found.message + repr(getattr(found, "raw", None))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_endpoint_is_unavailable_and_safe_to_fail_over() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with Hub.from_settings(**hub_settings(url)) as hub:
        with pytest.raises(Unavailable, match="could not connect") as caught:
            await hub.sms.send("+447700900000", "Hello", "Acme")
    assert (caught.value.retryable, caught.value.failover_safe) == (True, True)
