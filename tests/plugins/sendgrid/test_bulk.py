"""``hub.email.send_bulk`` on SendGrid: one personalization per recipient, 1,000 per request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub import BulkRecipient
from hub.core import Hub
from tests.plugins.sendgrid.conftest import SERVER_ERROR, UNAUTHORIZED, FakeSendGrid, error

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]

NEWS = {"from": "shop@example.com", "subject": "Spring news", "text": "Hello"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_each_recipient_gets_a_personalization_1000_per_request(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    recipients = [f"user{n}@example.com" for n in range(2500)]
    result = await hub.email.send_bulk(NEWS, recipients=recipients)

    assert result.ok
    assert result.sent == 2500
    assert [len(body["personalizations"]) for body in vendor.bodies] == [1000, 1000, 500]
    first = vendor.bodies[0]
    assert first["from"] == {"email": "shop@example.com"}
    assert first["content"] == [{"type": "text/plain", "value": "Hello"}]
    assert first["personalizations"][:2] == [
        {"to": [{"email": "user0@example.com"}], "subject": "Spring news"},
        {"to": [{"email": "user1@example.com"}], "subject": "Spring news"},
    ]
    assert [r.provider_message_id for r in result.receipts] == ["sg-msg-1", "sg-msg-2", "sg-msg-3"]
    carried = [r.email for receipt in result.receipts for r in receipt.recipients]
    assert carried == recipients
    assert {r.status for receipt in result.receipts for r in receipt.recipients} == {"queued"}


async def test_recipients_data_fills_their_own_template_and_metadata(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    await hub.email.send_bulk(
        {**NEWS, "template_id": "d-news", "template_data": {"season": "spring"}},
        recipients=[
            BulkRecipient("ada@example.com", "Ada", template_data={"name": "Ada"}),
            {"email": "grace@example.com", "metadata": {"user": "g1"}},
        ],
    )
    ada, grace = vendor.bodies[0]["personalizations"]
    assert ada["to"] == [{"email": "ada@example.com", "name": "Ada"}]
    assert ada["dynamic_template_data"] == {"season": "spring", "name": "Ada"}
    assert grace["dynamic_template_data"] == {"season": "spring"}
    assert grace["custom_args"] == {"user": "g1"}


async def test_invalid_and_repeated_recipients_fail_alone(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    result = await hub.email.send_bulk(
        NEWS, recipients=["ada@example.com", "not-an-address", "ADA@example.com", "g@example.com"]
    )
    assert result.sent == 2
    assert [(f.index, f.error_type) for f in result.failures] == [
        (1, "InvalidRequest"),
        (2, "InvalidRequest"),
    ]
    assert "given twice" in result.failures[1].message
    sent = [p["to"][0]["email"] for p in vendor.bodies[0]["personalizations"]]
    assert sent == ["ada@example.com", "g@example.com"]


async def test_a_failed_request_after_a_sent_one_fails_only_its_recipients(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    vendor.fail_request(2, error(500, SERVER_ERROR))
    result = await hub.email.send_bulk(
        NEWS, recipients=[f"u{n}@example.com" for n in range(1500)], concurrency=1
    )
    assert result.sent == 1000
    assert result.failed_indexes() == list(range(1000, 1500))
    assert {(f.error_type, f.retryable) for f in result.failures} == {("Unavailable", True)}


async def test_a_retryable_failure_before_anything_was_sent_is_retried(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub(resilience={"retry": {"attempts": 2, "wait_initial": 0, "wait_jitter": 0}})
    vendor.fail(error(503, SERVER_ERROR))
    result = await hub.email.send_bulk(NEWS, recipients=["a@example.com", "b@example.com"])
    assert result.ok
    assert result.sent == 2
    assert len(vendor.requests) == 2


async def test_a_refusal_of_the_whole_call_fails_every_recipient(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    vendor.fail(error(401, UNAUTHORIZED))
    result = await hub.email.send_bulk(NEWS, recipients=["a@example.com", "b@example.com"])
    assert result.sent == 0
    assert [f.error_type for f in result.failures] == ["AuthenticationError"] * 2
    assert "SG." not in " ".join(f.message for f in result.failures)


async def test_a_repeated_call_with_its_key_is_not_sent_twice(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    recipients = ["a@example.com", "b@example.com"]
    first = await hub.email.send_bulk(NEWS, recipients=recipients, idempotency_key="news-42")
    again = await hub.email.send_bulk(NEWS, recipients=recipients, idempotency_key="news-42")
    assert len(vendor.requests) == 1
    assert again.receipts[0].provider_message_id == first.receipts[0].provider_message_id
    assert again.sent == 2


async def test_the_assembled_body_is_the_json_sendgrid_documents(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    subject = 'Spring "news" \\ ✓'
    await hub.email.send_bulk(
        {**NEWS, "subject": subject, "headers": {"X-Campaign": "spring"}},
        recipients=["o'brien+news@example.com", "zoë@bücher.example", "Ada <ada@example.com>"],
    )
    [request] = vendor.requests
    assert request.headers["content-type"] == "application/json"
    body = vendor.bodies[0]  # parsed by the fake vendor: invalid JSON would fail here
    assert body["from"] == {"email": "shop@example.com"}
    assert body["personalizations"] == [
        {
            "to": [{"email": "o'brien+news@example.com"}],
            "subject": subject,
            "headers": {"X-Campaign": "spring"},
        },
        {
            "to": [{"email": "zoë@bücher.example"}],
            "subject": subject,
            "headers": {"X-Campaign": "spring"},
        },
        {
            "to": [{"email": "ada@example.com", "name": "Ada"}],
            "subject": subject,
            "headers": {"X-Campaign": "spring"},
        },
    ]
