"""SendGrid's answers: receipts per recipient, errors on the tree, rate limits, batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from hub.capabilities.email import EmailMessage
from hub.core import Hub
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    RateLimited,
    Unavailable,
)
from tests.plugins.sendgrid.conftest import (
    API_KEY,
    BAD_REQUEST,
    FORBIDDEN,
    SERVER_ERROR,
    TOO_LARGE,
    TOO_MANY,
    UNAUTHORIZED,
    FakeSendGrid,
    error,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def message(to: str | list[str] = "ada@example.com", **fields: Any) -> EmailMessage:
    return EmailMessage.model_validate(
        {"from": "shop@example.com", "to": to, "subject": "Hi", "text": "Hello", **fields}
    )


async def test_every_recipient_is_queued_under_the_x_message_id(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    receipt = await hub.email.send(
        message(["ada@example.com", "grace@example.com"], bcc="audit@example.com"),
        idempotency_key="order-42",
    )
    assert receipt.provider == "sendgrid"
    assert receipt.provider_message_id == "sg-msg-1"
    assert receipt.idempotency_key == "order-42"
    assert [(r.email, r.status) for r in receipt.recipients] == [
        ("ada@example.com", "queued"),
        ("grace@example.com", "queued"),
        ("audit@example.com", "queued"),
    ]
    assert receipt.raw == {"status": 202, "x_message_id": "sg-msg-1", "personalization": 0}


async def test_a_repeated_key_is_answered_by_the_hub_without_a_second_send(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    first = await hub.email.send(message(), idempotency_key="k-1")
    again = await hub.email.send(message(), idempotency_key="k-1")
    assert again.provider_message_id == first.provider_message_id
    assert len(vendor.requests) == 1


@pytest.mark.parametrize(
    ("status", "body", "expected", "field", "retryable", "failover_safe"),
    [
        (400, BAD_REQUEST, InvalidRequest, "to", False, False),
        (401, UNAUTHORIZED, AuthenticationError, None, False, True),
        (403, FORBIDDEN, AuthenticationError, None, False, True),
        (413, TOO_LARGE, InvalidRequest, "attachments", False, False),
        (500, SERVER_ERROR, Unavailable, None, True, False),
        (503, SERVER_ERROR, Unavailable, None, True, True),
    ],
    ids=["400", "401", "403", "413", "500", "503"],
)
async def test_documented_errors_map_onto_the_error_tree(
    vendor: FakeSendGrid,
    sendgrid_hub: Callable[..., Hub],
    status: int,
    body: dict[str, Any],
    expected: type[HubError],
    field: str | None,
    retryable: bool,
    failover_safe: bool,
) -> None:
    hub = sendgrid_hub()
    vendor.fail(error(status, body))
    with pytest.raises(HubError) as caught:
        await hub.email.send(message())
    exc = caught.value
    assert type(exc) is expected
    assert exc.retryable is retryable
    assert exc.failover_safe is failover_safe
    assert getattr(exc, "provider", None) == "sendgrid"
    assert body["errors"][0]["message"][:40] in str(exc)  # SendGrid's words reach the caller
    if isinstance(exc, InvalidRequest):
        assert exc.field == field
    assert API_KEY not in str(exc)
    assert API_KEY not in repr(getattr(exc, "raw", ""))


async def test_429_waits_for_x_ratelimit_reset(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    reset = int(time.time()) + 42
    vendor.fail(
        error(
            429,
            TOO_MANY,
            **{
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
        )
    )
    with pytest.raises(RateLimited) as caught:
        await hub.email.send(message())
    assert caught.value.retryable
    assert caught.value.failover_safe
    assert caught.value.retry_after is not None
    assert 38 <= caught.value.retry_after <= 42
    assert caught.value.raw["rate_limit"]["limit"] == 600


async def test_a_rate_limited_send_is_retried_after_the_reset(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub(resilience={"retry": {"attempts": 2, "wait_initial": 0, "wait_jitter": 0}})
    vendor.fail(error(429, TOO_MANY, **{"X-RateLimit-Reset": str(int(time.time()))}))
    receipt = await hub.email.send(message())
    assert receipt.attempts == 2
    assert len(vendor.requests) == 2


# -- send_many ----------------------------------------------------------------------------------


async def test_send_many_packs_personalizations_up_to_1000_recipients(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    messages = [message(f"user{n}@example.com", subject=f"Hi {n}") for n in range(2500)]
    results = await hub.email.send_many(messages)

    assert [len(body["personalizations"]) for body in vendor.bodies] == [1000, 1000, 500]
    first = vendor.bodies[0]["personalizations"][:2]
    assert first == [
        {"to": [{"email": "user0@example.com"}], "subject": "Hi 0"},
        {"to": [{"email": "user1@example.com"}], "subject": "Hi 1"},
    ]
    assert all(r.ok for r in results)
    ids = [r.receipt.provider_message_id for r in results if r.receipt]
    assert ids[:2] == ["sg-msg-1#0", "sg-msg-1#1"]
    assert ids[-1] == "sg-msg-3#499"
    assert len(set(ids)) == 2500


async def test_send_many_counts_every_recipient_of_a_personalization(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    trio = [f"{name}@example.com" for name in ("a", "b", "c")]
    messages = [
        message([f"{n}-{addr}" for addr in trio], subject=f"{n}") for n in range(400)
    ]  # 3 recipients each: 333 personalizations fit under 1,000 recipients
    await hub.email.send_many(messages)
    assert [len(body["personalizations"]) for body in vendor.bodies] == [333, 67]


async def test_messages_with_different_content_go_in_separate_requests(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    results = await hub.email.send_many(
        [
            message("ada@example.com"),
            message("grace@example.com", text="Other body"),
            message("edsger@example.com"),
        ]
    )
    assert [len(b["personalizations"]) for b in vendor.bodies] == [2, 1]
    assert [r.receipt.provider_message_id for r in results if r.receipt] == [
        "sg-msg-1#0",
        "sg-msg-2",
        "sg-msg-1#1",
    ]


async def test_the_same_address_twice_in_a_batch_goes_in_another_request(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    await hub.email.send_many([message("ada@example.com"), message("ADA@example.com")])
    assert [len(b["personalizations"]) for b in vendor.bodies] == [1, 1]


async def test_a_message_sendgrid_cannot_take_fails_alone(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    results = await hub.email.send_many(
        [message("ada@example.com"), message("grace@example.com", tags=[str(n) for n in range(11)])]
    )
    assert results[0].ok
    assert isinstance(results[1].error, InvalidRequest)
    assert results[1].error.field == "tags"
    assert len(vendor.requests) == 1


async def test_a_failed_request_after_a_sent_one_fails_only_its_messages(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    messages = [message(f"u{n}@example.com") for n in range(1500)]
    vendor.fail_request(2, error(500, SERVER_ERROR))
    results = await hub.email.send_many(messages)

    assert sum(r.ok for r in results) == 1000
    failed = [r for r in results if not r.ok]
    assert [r.index for r in failed] == list(range(1000, 1500))
    assert all(isinstance(r.error, Unavailable) for r in failed)


async def test_a_retryable_failure_before_anything_was_sent_lets_the_pipeline_retry(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub(resilience={"retry": {"attempts": 2, "wait_initial": 0, "wait_jitter": 0}})
    vendor.fail(error(503, SERVER_ERROR))
    results = await hub.email.send_many([message("ada@example.com"), message("grace@example.com")])
    assert all(r.ok for r in results)
    assert len(vendor.requests) == 2  # the refused request, then the retry of the whole batch
