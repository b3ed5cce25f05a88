"""Azure's documented error answers, mapped onto the hub's error tree.

The Blob service answers ``<?xml ...?><Error><Code>..</Code><Message>..</Message></Error>`` and
repeats the code in the ``x-ms-error-code`` header (the only place a HEAD answer has it). The
codes are from "Blob Storage error codes" and "Common REST API error codes" in Microsoft's
documentation.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub import Hub
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Timeout,
    Unavailable,
)
from hub.http import override_transport

pytestmark = pytest.mark.anyio

FAKE_KEY = base64.b64encode(b"not-a-real-azure-storage-account-key").decode()
ENDPOINT = "https://myaccount.blob.core.windows.net"


def azure_error(status: int, code: str, message: str, *, body: bool = True) -> httpx.Response:
    text = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}\n"
        "RequestId:5a3e2f9b-e01e-0003-2b4d-1f3c2e000000\nTime:2024-05-01T10:00:00.0000000Z"
        "</Message></Error>"
    )
    return httpx.Response(
        status,
        headers={"x-ms-error-code": code, "x-ms-request-id": "5a3e2f9b-e01e-0003"},
        content=text.encode() if body else b"",
    )


class Vendor:
    def __init__(self) -> None:
        self.answer: httpx.Response = httpx.Response(500)
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answer
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
async def vendor(anyio_backend: object) -> AsyncIterator[Vendor]:
    fake = Vendor()
    with override_transport(httpx.MockTransport(fake.handler)):
        yield fake


@pytest.fixture
async def azure(vendor: Vendor) -> AsyncIterator[Hub]:
    settings: dict[str, Any] = {
        "env": "test",
        "state": {"url": "memory://"},
        "storage": {
            "provider": "azure",
            "azure": {
                "account_name": "myaccount",
                "account_key": FAKE_KEY,
                "container": "pictures",
                "endpoint": ENDPOINT,
            },
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        },
    }
    async with Hub.from_settings(**settings) as hub:
        yield hub


CASES: list[tuple[httpx.Response, type[HubError], bool]] = [
    (azure_error(404, "BlobNotFound", "The specified blob does not exist."), NotFound, False),
    (
        azure_error(
            403,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of the "
            "Authorization header is formed correctly including the signature.",
        ),
        AuthenticationError,
        False,
    ),
    (
        azure_error(
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        ),
        AuthenticationError,
        False,
    ),
    (
        azure_error(503, "ServerBusy", "Operations per second is over the account limit."),
        RateLimited,
        True,
    ),
    (
        azure_error(
            500,
            "OperationTimedOut",
            "The operation could not be completed within the permitted time.",
        ),
        Timeout,
        True,
    ),
    (
        azure_error(500, "InternalError", "The server encountered an internal error."),
        Unavailable,
        True,
    ),
    (
        azure_error(
            400,
            "InvalidHeaderValue",
            "The value for one of the HTTP headers is not in the correct format.",
        ),
        InvalidRequest,
        False,
    ),
]


@pytest.mark.parametrize(
    ("answer", "expected", "retryable"), CASES, ids=[c[0].headers["x-ms-error-code"] for c in CASES]
)
async def test_documented_errors_map_to_the_error_tree(
    azure: Hub,
    vendor: Vendor,
    answer: httpx.Response,
    expected: type[HubError],
    retryable: bool,
) -> None:
    vendor.answer = answer
    with pytest.raises(HubError) as caught:
        await azure.storage.get("photos/ada.jpg")
    error = caught.value
    assert type(error) is expected, error
    assert error.retryable is retryable
    code = answer.headers["x-ms-error-code"]
    assert getattr(error, "vendor_code", None) == code
    assert "RequestId" not in error.message, "the service's trace lines stay in raw"
    assert FAKE_KEY not in repr(error.__dict__)


async def test_a_head_answer_has_its_code_in_the_header_only(azure: Hub, vendor: Vendor) -> None:
    vendor.answer = azure_error(404, "BlobNotFound", "", body=False)
    with pytest.raises(NotFound) as caught:
        await azure.storage.head("photos/ada.jpg")
    assert caught.value.vendor_code == "BlobNotFound"
    assert vendor.requests[-1].method == "HEAD"


async def test_a_missing_container_says_which_setting_to_fix(azure: Hub, vendor: Vendor) -> None:
    vendor.answer = azure_error(404, "ContainerNotFound", "The specified container does not exist.")
    with pytest.raises(NotFound, match="container 'pictures' does not exist"):
        await azure.storage.delete("photos/ada.jpg")


async def test_deleting_a_missing_blob_is_not_an_error(azure: Hub, vendor: Vendor) -> None:
    vendor.answer = azure_error(404, "BlobNotFound", "The specified blob does not exist.")
    await azure.storage.delete("photos/ada.jpg")
    (request,) = vendor.requests
    assert request.method == "DELETE"
    assert request.url.path == "/pictures/photos/ada.jpg"


async def test_retry_after_of_a_throttled_answer_is_kept(azure: Hub, vendor: Vendor) -> None:
    throttled = azure_error(503, "ServerBusy", "Egress is over the account limit.")
    throttled.headers["Retry-After"] = "7"
    vendor.answer = throttled
    with pytest.raises(RateLimited) as caught:
        await azure.storage.head("photos/ada.jpg")
    assert caught.value.retry_after == 7.0
