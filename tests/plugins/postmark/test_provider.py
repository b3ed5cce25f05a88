"""Postmark's answers: receipts per recipient, ErrorCodes on the tree, rate limits, batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hub.capabilities.email import EmailMessage
from hub.core import Hub
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    Unavailable,
)
from tests.plugins.postmark.conftest import (
    API,
    BAD_TOKEN,
    INVALID_REQUEST,
    SERVER_ERROR,
    SUBMITTED_AT,
    TOKEN,
    UNAVAILABLE,
    FakePostmark,
    answer,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def message(to: str | list[str] = "ada@example.com", **fields: Any) -> EmailMessage:
    return EmailMessage.model_validate(
        {"from": "shop@example.com", "to": to, "subject": "Hi", "text": "Hello", **fields}
    )


async def test_every_recipient_is_queued_under_the_message_id(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    receipt = await hub.email.send(
        message(["ada@example.com", "grace@example.com"], bcc="audit@example.com"),
        idempotency_key="order-42",
    )
    assert receipt.provider == "postmark"
    assert receipt.provider_message_id == "pm-msg-1"
    assert receipt.idempotency_key == "order-42"
    assert [(r.email, r.status) for r in receipt.recipients] == [
        ("ada@example.com", "queued"),
        ("grace@example.com", "queued"),
        ("audit@example.com", "queued"),
    ]
    assert receipt.raw == {
        "To": "ada@example.com, grace@example.com",
        "SubmittedAt": SUBMITTED_AT,
        "MessageID": "pm-msg-1",
        "ErrorCode": 0,
        "Message": "OK",
    }


async def test_an_inactive_recipient_is_rejected_not_raised(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    vendor.inactive = {"grace@example.com"}
    receipt = await hub.email.send(message(["ada@example.com", "grace@example.com"]))
    statuses = {r.email: (r.status, r.reason) for r in receipt.recipients}
    assert statuses["grace@example.com"][0] == "rejected"
    assert "inactive" in (statuses["grace@example.com"][1] or "")
    # Postmark answered 422 without a MessageID: whether Ada got it is not said.
    assert statuses["ada@example.com"] == ("unknown", None)
    assert receipt.provider_message_id is None
    assert receipt.raw["ErrorCode"] == 406


async def test_a_repeated_key_is_answered_by_the_hub_without_a_second_send(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    first = await hub.email.send(message(), idempotency_key="k-1")
    again = await hub.email.send(message(), idempotency_key="k-1")
    assert again.provider_message_id == first.provider_message_id
    assert len(vendor.requests) == 1


@pytest.mark.parametrize(
    ("response", "expected", "code", "field", "retryable", "failover_safe"),
    [
        (BAD_TOKEN, AuthenticationError, "10", None, False, True),
        (INVALID_REQUEST, InvalidRequest, "300", None, False, False),
        (answer(400, "Sender signature not found"), InvalidRequest, "400", "from", False, False),
        (
            answer(401, "Sender signature not confirmed"),
            InvalidRequest,
            "401",
            "from",
            False,
            False,
        ),
        (
            answer(411, "Forbidden attachment type"),
            InvalidRequest,
            "411",
            "attachments",
            False,
            False,
        ),
        (answer(1101, "Template not found"), InvalidRequest, "1101", "template_id", False, False),
        (answer(405, "Not allowed to send"), AuthenticationError, "405", None, False, True),
        (answer(412, "Account is pending"), AuthenticationError, "412", None, False, True),
        (answer(100, "Maintenance", status=503), Unavailable, "100", None, True, True),
        (SERVER_ERROR, Unavailable, "500", None, True, False),
        (UNAVAILABLE, Unavailable, None, None, True, True),
        (
            httpx.Response(413, text="Payload Too Large"),
            InvalidRequest,
            None,
            "attachments",
            False,
            False,
        ),
    ],
    ids=[
        "10-bad-token",
        "300-invalid",
        "400-no-signature",
        "401-unconfirmed-signature",
        "411-attachment-type",
        "1101-template",
        "405-no-credits",
        "412-pending",
        "100-maintenance",
        "500",
        "503-html",
        "413",
    ],
)
async def test_documented_errors_map_onto_the_error_tree(
    vendor: FakePostmark,
    postmark_hub: Callable[..., Hub],
    response: httpx.Response,
    expected: type[HubError],
    code: str | None,
    field: str | None,
    retryable: bool,
    failover_safe: bool,
) -> None:
    hub = postmark_hub()
    vendor.fail(response)
    with pytest.raises(HubError) as caught:
        await hub.email.send(message())
    exc = caught.value
    assert type(exc) is expected
    assert exc.retryable is retryable
    assert exc.failover_safe is failover_safe
    assert getattr(exc, "provider", None) == "postmark"
    assert getattr(exc, "vendor_code", None) == code
    if isinstance(exc, InvalidRequest):
        assert exc.field == field
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(getattr(exc, "raw", ""))


async def test_429_is_rate_limited_and_honours_retry_after(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    vendor.fail(answer(429, "Rate limit exceeded", status=429, **{"Retry-After": "7"}))
    with pytest.raises(RateLimited) as caught:
        await hub.email.send(message())
    assert caught.value.retry_after == 7
    assert caught.value.retryable
    assert caught.value.failover_safe


# -- send_many ------------------------------------------------------------------------------------


async def test_send_many_uses_the_batch_endpoint_500_at_a_time(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    results = await hub.email.send_many(
        [message(f"user{n}@example.com", subject=f"Hi {n}") for n in range(1200)]
    )
    assert [str(r.url) for r in vendor.requests] == [f"{API}/email/batch"] * 3
    assert [len(body) for body in vendor.bodies] == [500, 500, 200]
    assert vendor.bodies[0][1] == {
        "From": "shop@example.com",
        "To": "user1@example.com",
        "Subject": "Hi 1",
        "TextBody": "Hello",
    }
    assert all(r.ok for r in results)
    ids = [r.receipt.provider_message_id for r in results if r.receipt]
    assert ids[0] == "pm-msg-1"
    assert len(set(ids)) == 1200


async def test_templated_messages_go_to_batch_with_templates(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    templated = EmailMessage.model_validate(
        {"from": "shop@example.com", "to": "grace@example.com", "template_id": "welcome"}
    )
    results = await hub.email.send_many([message("ada@example.com"), templated])
    assert [str(r.url) for r in vendor.requests] == [
        f"{API}/email/batch",
        f"{API}/email/batchWithTemplates",
    ]
    assert vendor.bodies[1] == {
        "Messages": [
            {
                "From": "shop@example.com",
                "To": "grace@example.com",
                "TemplateAlias": "welcome",
                "TemplateModel": {},
            }
        ]
    }
    assert all(r.ok for r in results)


async def test_each_message_of_a_batch_gets_its_own_outcome(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    vendor.inactive = {"grace@example.com"}
    original = vendor.handler

    def third_is_invalid(request: httpx.Request) -> httpx.Response:
        response = original(request)
        items = response.json()
        items[2] = {"ErrorCode": 300, "Message": "Invalid 'To' address: 'x'.", "To": "x"}
        return httpx.Response(200, json=items)

    from hub.http import override_transport

    with override_transport(httpx.MockTransport(third_is_invalid)):
        results = await hub.email.send_many(
            [
                message("ada@example.com"),
                message("grace@example.com"),
                message("edsger@example.com"),
                message("barbara@example.com", tags=["a", "b"]),
            ]
        )
    assert results[0].ok
    inactive = results[1].receipt
    assert inactive is not None
    assert [(r.email, r.status) for r in inactive.recipients] == [("grace@example.com", "rejected")]
    assert isinstance(results[2].error, InvalidRequest)
    assert results[2].error.vendor_code == "300"
    assert isinstance(results[3].error, InvalidRequest)
    assert results[3].error.field == "tags"
    assert len(vendor.bodies[0]) == 3  # the message Postmark cannot take was never sent


async def test_an_unknown_error_code_in_a_batch_is_refused_not_retried(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()

    def odd(request: httpx.Request) -> httpx.Response:
        vendor.requests.append(request)
        return httpx.Response(200, json=[{"ErrorCode": 9999, "Message": "Something new"}])

    from hub.http import override_transport

    with override_transport(httpx.MockTransport(odd)):
        [result] = await hub.email.send_many([message()])
    assert type(result.error) is ProviderError
    assert result.error.retryable is False
    assert "9999" in str(result.error)


async def test_a_retryable_failure_before_anything_was_sent_lets_the_pipeline_retry(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub(resilience={"retry": {"attempts": 2, "wait_initial": 0, "wait_jitter": 0}})
    vendor.fail(UNAVAILABLE)
    results = await hub.email.send_many([message("ada@example.com"), message("grace@example.com")])
    assert all(r.ok for r in results)
    assert len(vendor.requests) == 2
