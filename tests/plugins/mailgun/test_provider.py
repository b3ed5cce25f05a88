"""Mailgun's answers: receipts, documented errors, rate limits, idempotency and batches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from hub.core import Hub
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    NotFound,
    ProviderError,
    RateLimited,
    Unavailable,
)
from tests.plugins.mailgun.conftest import API_KEY, US_URL, FakeMailgun, documented_error

pytestmark = pytest.mark.anyio

QUEUED = {"id": "<20240501120000.1.ABC@mg.example.com>", "message": "Queued. Thank you."}


def message(**fields: Any) -> dict[str, Any]:
    return {"to": "ada@example.com", "subject": "Hello", "text": "Hi", **fields}


# -- documented errors, through pytest-httpx -------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "retryable", "failover_safe"),
    [
        (
            400,
            {"message": "'to' parameter is not a valid address. please check documentation"},
            {},
            InvalidRequest,
            False,
            False,
        ),
        (401, "Forbidden", {}, AuthenticationError, False, True),
        (
            402,
            {"message": "Domain mg.example.com is disabled. Request failed"},
            {},
            ProviderError,
            False,
            True,
        ),
        (
            403,
            {"message": "Domain mg.example.com is not allowed to send: Free accounts are for "
             "test purposes only. Please upgrade or add the address to authorized recipients"},
            {},
            AuthenticationError,
            False,
            True,
        ),
        (404, {"message": "Domain not found: mg.example.com"}, {}, NotFound, False, True),
        (413, {"message": "request entity too large"}, {}, InvalidRequest, False, False),
        (429, {"message": "Too many requests"}, {"Retry-After": "7"}, RateLimited, True, True),
        (500, {"message": "Internal Server Error"}, {}, Unavailable, True, False),
        (503, {"message": "Service Unavailable"}, {}, Unavailable, True, True),
    ],
    ids=["400", "401", "402", "403", "404", "413", "429", "500", "503"],
)  # fmt: skip
async def test_documented_errors_map_to_the_error_tree(
    httpx_mock: HTTPXMock,
    mailgun_hub: Callable[..., Hub],
    status: int,
    body: Any,
    headers: dict[str, str],
    error: type[HubError],
    retryable: bool,
    failover_safe: bool,
) -> None:
    response = documented_error(status, body, **headers)
    httpx_mock.add_response(
        url=US_URL, status_code=status, content=response.content, headers=response.headers
    )
    with pytest.raises(HubError) as caught:
        await mailgun_hub().email.send(message())
    got = caught.value
    assert type(got) is error
    assert got.retryable is retryable
    assert got.failover_safe is failover_safe
    assert getattr(got, "provider", None) == "mailgun"
    text = body if isinstance(body, str) else body["message"]
    assert text.split(".")[0] in str(got)
    assert API_KEY not in f"{got} {got!r} {getattr(got, 'raw', '')}"


async def test_a_400_names_the_parameter(
    httpx_mock: HTTPXMock, mailgun_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(
        url=US_URL, status_code=400, json={"message": "from parameter is missing"}
    )
    with pytest.raises(InvalidRequest) as caught:
        await mailgun_hub().email.send(message())
    assert caught.value.field == "from"
    assert caught.value.raw["status"] == 400


async def test_a_404_says_to_check_domain_and_region(
    httpx_mock: HTTPXMock, mailgun_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(
        url=US_URL, status_code=404, json={"message": "Domain not found: mg.example.com"}
    )
    with pytest.raises(NotFound, match="region"):
        await mailgun_hub().email.send(message())


async def test_rate_limit_headers_give_the_wait(
    httpx_mock: HTTPXMock, mailgun_hub: Callable[..., Hub]
) -> None:
    reset_ms = int((time.time() + 30) * 1000)
    httpx_mock.add_response(
        url=US_URL,
        status_code=429,
        json={"message": "Too many requests"},
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset_ms),
        },
    )
    with pytest.raises(RateLimited) as caught:
        await mailgun_hub().email.send(message())
    assert caught.value.retry_after is not None
    assert 25 <= caught.value.retry_after <= 30
    assert caught.value.raw["rate_limit"]["limit"] == 300


async def test_a_rate_limited_send_is_retried_after_the_wait(
    httpx_mock: HTTPXMock, mailgun_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(
        url=US_URL,
        status_code=429,
        json={"message": "Too many requests"},
        headers={"Retry-After": "0"},
    )
    httpx_mock.add_response(url=US_URL, json=QUEUED)
    hub = mailgun_hub(resilience={"retry": {"attempts": 2, "wait_initial": 0, "wait_max": 0}})
    receipt = await hub.email.send(message())
    assert receipt.provider_id == "20240501120000.1.ABC@mg.example.com"
    assert len(httpx_mock.get_requests()) == 2


async def test_rate_limit_headers_of_a_success_are_kept(
    httpx_mock: HTTPXMock, mailgun_hub: Callable[..., Hub]
) -> None:
    httpx_mock.add_response(
        url=US_URL,
        json=QUEUED,
        headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299"},
    )
    receipt = await mailgun_hub().email.send(message())
    assert receipt.raw["rate_limit"]["remaining"] == 299


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"text": "<html>proxy page</html>"}, "without a JSON object"),
        ({"json": {"message": "Queued. Thank you."}}, "without a message id"),
    ],
    ids=["html", "no-id"],
)
async def test_an_answer_without_an_id_is_not_taken_for_success(
    httpx_mock: HTTPXMock, mailgun_hub: Callable[..., Hub], answer: dict[str, Any], problem: str
) -> None:
    httpx_mock.add_response(url=US_URL, **answer)
    with pytest.raises(ProviderError, match=problem) as caught:
        await mailgun_hub().email.send(message())
    assert (caught.value.retryable, caught.value.failover_safe) == (False, False)


# -- receipts and idempotency ------------------------------------------------------------


async def test_every_recipient_is_queued(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    receipt = await mailgun_hub().email.send(
        message(to=["a@example.com", "b@example.com"], cc="c@example.com", bcc="d@example.com")
    )
    assert [(r.email, r.status) for r in receipt.recipients] == [
        ("a@example.com", "queued"),
        ("b@example.com", "queued"),
        ("c@example.com", "queued"),
        ("d@example.com", "queued"),
    ]
    assert receipt.provider == "mailgun"
    assert receipt.raw["response"]["id"] == f"<{receipt.provider_id}>"


async def test_the_hub_remembers_idempotency_keys_mailgun_has_none(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    hub = mailgun_hub()
    first = await hub.email.send(message(), idempotency_key="order-42-confirmation")
    again = await hub.email.send(message(), idempotency_key="order-42-confirmation")
    assert again.provider_id == first.provider_id
    assert len(vendor.requests) == 1
    assert all("idempotency-key" not in r.headers for r in vendor.requests)


# -- batches ------------------------------------------------------------------------------


async def test_messages_differing_only_in_recipient_share_batch_sends_of_1000(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    messages = [
        message(to=f"user{n}@example.com", text="Hi %recipient.name%", template_data={"name": n})
        for n in range(2500)
    ]
    results = await mailgun_hub().email.send_many(messages)
    assert len(vendor.requests) == 3
    forms = vendor.forms
    assert sorted(len(f.all("to")) for f in forms) == [500, 1000, 1000]
    everyone = [to for f in forms for to in f.all("to")]
    assert sorted(everyone) == sorted(f"user{n}@example.com" for n in range(2500))
    for form in forms:
        variables = json.loads(form.one("recipient-variables"))
        assert set(variables) == set(form.all("to"))
        for address, data in variables.items():
            assert data == {"name": int(address.removeprefix("user").split("@")[0])}
        assert form.one("text") == "Hi %recipient.name%"
    assert [r.index for r in results] == list(range(2500))
    assert all(r.ok for r in results)
    first = results[0].receipt
    assert first is not None
    assert [(x.email, x.status) for x in first.recipients] == [("user0@example.com", "queued")]
    assert first.raw["batch_size"] in (500, 1000)


async def test_messages_that_differ_are_sent_one_by_one(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    messages = [message(to=f"user{n}@example.com", subject=f"Subject {n}") for n in range(3)]
    messages.append(message(to=["x@example.com", "y@example.com"]))
    messages.append(message(tags=["1", "2", "3", "4"]))
    results = await mailgun_hub().email.send_many(messages)
    assert len(vendor.requests) == 4
    assert all("recipient-variables" not in f.names() for f in vendor.forms)
    assert [r.ok for r in results] == [True, True, True, True, False]
    assert isinstance(results[4].error, InvalidRequest)
    assert results[4].error.field == "tags"
    ids = {r.receipt.provider_id for r in results if r.receipt is not None}
    assert len(ids) == 4


async def test_a_stored_template_batches_only_equal_variables(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    same = {"template_id": "welcome", "text": None, "template_data": {"plan": "pro"}}
    messages = [
        message(to="a@example.com", **same),
        message(to="b@example.com", **same),
        message(to="c@example.com", **{**same, "template_data": {"plan": "free"}}),
    ]
    results = await mailgun_hub().email.send_many(messages)
    assert all(r.ok for r in results)
    by_recipients = {tuple(f.all("to")): f for f in vendor.forms}
    assert set(by_recipients) == {("a@example.com", "b@example.com"), ("c@example.com",)}
    batch = by_recipients[("a@example.com", "b@example.com")]
    assert json.loads(batch.one("t:variables")) == {"plan": "pro"}
    assert json.loads(batch.one("recipient-variables")) == {
        "a@example.com": {},
        "b@example.com": {},
    }


async def test_a_failed_batch_fails_its_messages(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    vendor.fail(documented_error(400, {"message": "'to' parameter is not a valid address"}))
    messages = [message(to=f"user{n}@example.com") for n in range(3)]
    messages.append(message(to="other@example.com", subject="different"))
    results = await mailgun_hub().email.send_many(messages)
    assert len(vendor.requests) == 2
    outcomes = sorted((r.ok, type(r.error).__name__) for r in results)
    assert outcomes in (
        [(False, "InvalidRequest")] * 3 + [(True, "NoneType")],
        [(False, "InvalidRequest")] + [(True, "NoneType")] * 3,
    )


async def test_a_batch_where_everything_failed_reaches_the_pipeline(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    vendor.fail(documented_error(503, {"message": "Service Unavailable"}), times=1)
    hub = mailgun_hub(resilience={"retry": {"attempts": 2, "wait_initial": 0, "wait_max": 0}})
    results = await hub.email.send_many([message(to=f"u{n}@example.com") for n in range(3)])
    assert all(r.ok for r in results), [r.error for r in results]
    assert len(vendor.requests) == 2  # the 503, then the retried batch
