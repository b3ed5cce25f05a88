"""Issue 7, done when: with SendGrid's circuit open, a hub configured with
``providers = ["sendgrid", "ses"]`` delivers through SES and the metrics show the failover.

SendGrid's breaker is forced open through the hub's public switch,
``await hub.breaker("email", "sendgrid").force_open()``, as an operator would during a SendGrid
incident; SendGrid is then not even called. One test also lets SendGrid fail (503, as SendGrid
documents it) until its breaker opens by itself, the way it would in production. SES runs on
moto's server on 127.0.0.1 (the real SES v2 protocol); the same chain with Postmark as the
fallback is checked too, all over HTTP mocks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from hub.capabilities.email import EmailReceipt
from hub.core import Hub
from hub.http import override_transport
from tests.plugins.postmark.conftest import TOKEN, FakePostmark
from tests.plugins.sendgrid.conftest import API_KEY, SERVER_ERROR, FakeSendGrid, error
from tests.plugins.ses import conftest as ses
from tests.plugins.ses._support import moto_sent, ses_section

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]

FAILURES_TO_OPEN = 3
# moto's server on 127.0.0.1, shared with the SES tests (session-scoped).
moto_server = ses.moto_server
moto_url = ses.moto_url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiobotocore (SES) runs on asyncio only


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, {"capability": "email", **labels}) or 0.0


def chain_settings(tmp_path: Path, fallback: str, section: dict[str, Any]) -> dict[str, Any]:
    return {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "providers": ["sendgrid", fallback],
            "default_from": "Shop <shop@example.com>",
            "sendgrid": {"api_key": API_KEY},
            fallback: section,
            "resilience": {
                "retry": {"attempts": 1},
                "circuit_breaker": {
                    "consecutive_failures": FAILURES_TO_OPEN,
                    "reset_timeout": 300,
                },
            },
        },
    }


def routing(
    sendgrid: FakeSendGrid, http_fallback: Callable[[httpx.Request], httpx.Response] | None
) -> httpx.MockTransport:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.sendgrid.com":
            return sendgrid.handler(request)
        assert http_fallback is not None, f"unexpected request to {request.url}"
        return http_fallback(request)

    return httpx.MockTransport(route)


async def force_open_then_send(
    settings: dict[str, Any],
    metrics: CollectorRegistry,
    sendgrid: FakeSendGrid,
    http_fallback: Callable[[httpx.Request], httpx.Response] | None = None,
) -> EmailReceipt:
    """SendGrid's breaker is forced open; then one send, returned."""
    with override_transport(routing(sendgrid, http_fallback)):
        async with Hub.from_settings(metrics_registry=metrics, **settings) as hub:
            breaker = hub.breaker("email", "sendgrid")
            await breaker.force_open()
            assert await breaker.state_name() == "open"
            assert sample(metrics, "hub_circuit_state", provider="sendgrid") == 2  # open
            return await hub.email.send(
                to="grace@example.com", subject="While SendGrid is open", text="Hi"
            )


def check_metrics(metrics: CollectorRegistry, fallback: str, *, failed_before: int = 0) -> None:
    """The failover, as Prometheus sees it."""
    unavailable = sample(metrics, "hub_attempts_total", provider="sendgrid", error="Unavailable")
    assert unavailable == failed_before
    assert sample(metrics, "hub_attempts_total", provider="sendgrid", error="CircuitOpen") == 1
    failovers = sample(
        metrics, "hub_failovers_total", from_provider="sendgrid", to_provider=fallback
    )
    assert failovers == failed_before + 1
    delivered = sample(
        metrics, "hub_operations_total", operation="send", provider=fallback, outcome="success"
    )
    assert delivered == failed_before + 1


async def test_with_sendgrids_circuit_forced_open_ses_delivers_and_metrics_show_it(
    tmp_path: Path, moto_url: str
) -> None:
    sendgrid, metrics = FakeSendGrid(), CollectorRegistry()
    settings = chain_settings(tmp_path, "ses", ses_section(moto_url))

    receipt = await force_open_then_send(settings, metrics, sendgrid)

    assert receipt.provider == "ses"
    assert [(r.email, r.status) for r in receipt.recipients] == [("grace@example.com", "queued")]
    assert moto_sent(receipt.provider_id or "").subject == "While SendGrid is open"
    assert sendgrid.requests == []  # never called: its breaker was open
    check_metrics(metrics, "ses")


async def test_with_sendgrids_circuit_forced_open_postmark_delivers_and_metrics_show_it(
    tmp_path: Path,
) -> None:
    sendgrid, postmark, metrics = FakeSendGrid(), FakePostmark(), CollectorRegistry()
    settings = chain_settings(tmp_path, "postmark", {"server_token": TOKEN})

    receipt = await force_open_then_send(
        settings, metrics, sendgrid, http_fallback=postmark.handler
    )

    assert receipt.provider == "postmark"
    assert [(r.email, r.status) for r in receipt.recipients] == [("grace@example.com", "queued")]
    assert postmark.bodies[-1]["To"] == "grace@example.com"
    assert sendgrid.requests == []
    check_metrics(metrics, "postmark")


async def test_sendgrid_failing_opens_its_breaker_and_postmark_takes_over(
    tmp_path: Path,
) -> None:
    sendgrid, postmark, metrics = FakeSendGrid(), FakePostmark(), CollectorRegistry()
    settings = chain_settings(tmp_path, "postmark", {"server_token": TOKEN})
    sendgrid.fail(error(503, SERVER_ERROR), times=FAILURES_TO_OPEN)

    with override_transport(routing(sendgrid, postmark.handler)):
        async with Hub.from_settings(metrics_registry=metrics, **settings) as hub:
            for n in range(FAILURES_TO_OPEN):  # SendGrid answers 503: each send fails over
                receipt = await hub.email.send(to="ada@example.com", subject=f"#{n}", text="Hi")
                assert receipt.provider == "postmark"
            assert await hub.breaker("email", "sendgrid").state_name() == "open"
            receipt = await hub.email.send(
                to="grace@example.com", subject="While SendGrid is open", text="Hi"
            )

    assert receipt.provider == "postmark"
    assert receipt.provider_message_id == "pm-msg-4"
    assert len(sendgrid.requests) == FAILURES_TO_OPEN  # not called once its breaker was open
    check_metrics(metrics, "postmark", failed_before=FAILURES_TO_OPEN)
