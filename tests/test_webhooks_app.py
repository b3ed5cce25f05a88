"""The Starlette receiver through httpx's ASGI transport: every answer it promises."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount

from hub import Hub, HubSettings
from hub.errors import ConfigurationError, Unavailable
from hub.plugins import discover
from hub.testing.webhooks import post_event, signed_request, with_webhooks
from hub.webhooks.app import create_app, vendor_url
from hub.webhooks.builtin import DEVELOPMENT_SECRET, HANDLER, BuiltinWebhookHandler
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, webhook_handler
from hub.webhooks.signatures import sign_standard_webhook

LIMIT = 4096


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_hub(handler: str = HANDLER, **settings: object) -> Hub:
    registry = with_webhooks(discover(include_installed=False), {"fake": handler})
    return Hub(HubSettings.load(**{"env": "test", **settings}), registry=registry)


class StopRetrying(BuiltinWebhookHandler):
    """A vendor that retries every answer but 200 and 406, as Mailgun does."""

    refusal_status = 406


class RefusesWith200(BuiltinWebhookHandler):
    refusal_status = 200  # a plugin bug: a refusal that reads as success


class FetchFails(BuiltinWebhookHandler):
    """A handler whose certificate fetch (in prepare) cannot reach the vendor."""

    async def prepare(self, request: InboundRequest) -> None:
        raise Unavailable("acme: could not fetch a signing certificate", provider="fake")


@pytest.fixture
async def hub(isolated_env: None) -> AsyncIterator[Hub]:
    async with make_hub(webhooks={"max_body_bytes": LIMIT}) as h:
        yield h


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def bounce(event_id: str = "evt_1") -> HubEvent:
    return HubEvent(
        type="email.bounced", provider="fake", capability="email", provider_event_id=event_id,
        subject_id="msg_1", recipient="ada@example.com", bounce_type="hard", reason="no such user",
    )  # fmt: skip


async def post(client: httpx.AsyncClient, hub: Hub, payload: object) -> httpx.Response:
    request = signed_request(hub, "fake", payload)  # type: ignore[arg-type]
    return await client.post("/webhooks/fake", content=request.body, headers=request.headers)


@pytest.mark.anyio
async def test_a_signed_event_is_handled_once(hub: Hub, client: httpx.AsyncClient) -> None:
    seen: list[HubEvent] = []

    @hub.on("email.bounced")
    async def on_bounce(e: HubEvent) -> None:
        seen.append(e)

    first = await post(client, hub, bounce())
    assert first.status_code == 200
    assert first.json() == {"received": 1, "duplicates": 0}
    again = await post(client, hub, bounce())  # the vendor redelivers
    assert again.json() == {"received": 1, "duplicates": 1}
    assert len(seen) == 1
    got = seen[0]
    assert (got.type, got.provider, got.recipient, got.bounce_type, got.reason) == (
        "email.bounced", "fake", "ada@example.com", "hard", "no such user",
    )  # fmt: skip
    assert got.raw["data"]["provider_event_id"] == "evt_1"


@pytest.mark.anyio
async def test_a_batch_counts_each_event(hub: Hub, client: httpx.AsyncClient) -> None:
    await post(client, hub, bounce("a"))
    response = await post(client, hub, [bounce("a"), bounce("b"), bounce("c")])
    assert response.json() == {"received": 3, "duplicates": 0}  # no handler: nothing remembered

    @hub.on("*")
    async def anything(e: HubEvent) -> None:
        return None

    await post(client, hub, [bounce("a"), bounce("b")])
    response = await post(client, hub, [bounce("a"), bounce("b"), bounce("c")])
    assert response.json() == {"received": 3, "duplicates": 2}


@pytest.mark.anyio
async def test_post_event_helper_goes_through_the_app(hub: Hub) -> None:
    seen: list[str] = []

    @hub.on("email.*")
    async def record(e: HubEvent) -> None:
        seen.append(e.provider_event_id)

    response = await post_event(hub, [bounce("x"), bounce("y")])
    assert response.json() == {"received": 2, "duplicates": 0}
    assert seen == ["x", "y"]


@pytest.mark.anyio
async def test_built_in_provider_events_share_the_webhook_dedupe(hub: Hub) -> None:
    """An event the fake emitted when sending is a duplicate when its webhook arrives too."""
    emitted: list[HubEvent] = []

    @hub.on("email.delivered")
    async def record(e: HubEvent) -> None:
        emitted.append(e)

    await hub.email.send(to="ada@example.com", from_="shop@example.com", subject="Hi", text=".")
    assert len(emitted) == 1
    response = await post_event(hub, emitted[0])
    assert response.json() == {"received": 1, "duplicates": 1}
    assert len(emitted) == 1


@pytest.mark.anyio
async def test_bad_signature_gets_a_generic_400(
    hub: Hub, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[HubEvent] = []

    @hub.on("*")
    async def record(e: HubEvent) -> None:
        seen.append(e)

    request = signed_request(hub, "fake", bounce())
    tampered = request.body.replace(b"ada@", b"eve@")
    with caplog.at_level(logging.INFO, logger="hub.webhooks"):
        response = await client.post("/webhooks/fake", content=tampered, headers=request.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid webhook"}
    assert "signature mismatch" in caplog.text  # the operator learns why, the sender does not
    assert DEVELOPMENT_SECRET not in caplog.text
    assert request.headers["webhook-signature"] not in caplog.text
    assert seen == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, b"{}"),  # no signature headers at all
        ({"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}, b"{}"),
        ("stale", json.dumps({"type": "email.bounced"}).encode()),
        ("signed", b"not json"),
        ("signed", b'{"type": "email.bounced", "timestamp": "2024-01-01T00:00:00Z", "data": {}}'),
        ("signed", b'{"type": "email.nope", "timestamp": 0, "data": {"provider_event_id": "e"}}'),
    ],
)
async def test_every_refusal_looks_the_same(
    client: httpx.AsyncClient, headers: object, body: bytes
) -> None:
    if headers == "stale":
        ts = int(time.time()) - 3600
        headers = sign_standard_webhook(body, secret=DEVELOPMENT_SECRET, msg_id="m", timestamp=ts)
    elif headers == "signed":
        ts = int(time.time())
        headers = sign_standard_webhook(body, secret=DEVELOPMENT_SECRET, msg_id="m", timestamp=ts)
    response = await client.post("/webhooks/fake", content=body, headers=headers)  # type: ignore[arg-type]
    assert (response.status_code, response.json()) == (400, {"error": "invalid webhook"})


@pytest.mark.anyio
async def test_unknown_provider_and_provider_without_webhooks_are_404(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/webhooks/nope", "/webhooks/FAKE", "/webhooks/..%2Ffake"):
        response = await client.post(path, content=b"{}")
        assert response.status_code == 404, path
        assert response.json() == {"error": "not found"}
    # GET is routed too (query-string receipts); unsigned, it is refused like a POST.
    assert (await client.get("/webhooks/fake")).status_code == 400
    # The built-in providers all take webhooks: an unsigned post is refused, not unknown.
    assert (await client.post("/webhooks/local", content=b"{}")).status_code == 400


@pytest.mark.anyio
async def test_oversized_body_by_content_length_is_413(hub: Hub, client: httpx.AsyncClient) -> None:
    request = signed_request(hub, "fake", b"x" * (LIMIT + 1))
    response = await client.post("/webhooks/fake", content=request.body, headers=request.headers)
    assert (response.status_code, response.json()) == (413, {"error": "body too large"})
    exactly = signed_request(hub, "fake", b" " * (LIMIT - 2) + b"[]")
    response = await client.post("/webhooks/fake", content=exactly.body, headers=exactly.headers)
    assert response.json() == {"received": 0, "duplicates": 0}


@pytest.mark.anyio
async def test_oversized_streamed_body_is_413_without_reading_it_all(
    client: httpx.AsyncClient,
) -> None:
    chunk, pulled = b"x" * 1024, 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 1000:  # a megabyte, if the app kept reading
            pulled += 1
            yield chunk

    response = await client.post("/webhooks/fake", content=endless())
    assert (response.status_code, response.json()) == (413, {"error": "body too large"})
    assert pulled <= LIMIT // len(chunk) + 2


@pytest.mark.anyio
async def test_malformed_content_length_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/fake", content=b"{}", headers={"content-length": "-1"})
    assert response.status_code == 400


@pytest.mark.anyio
async def test_a_failing_handler_gets_500_and_the_retry_succeeds(
    hub: Hub, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    attempts = 0

    @hub.on("email.bounced")
    async def flaky(e: HubEvent) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("database is down")

    with caplog.at_level(logging.ERROR, logger="hub.webhooks"):
        failed = await post(client, hub, bounce())
    assert (failed.status_code, failed.json()) == (500, {"error": "internal error"})
    assert "database is down" not in failed.text
    assert "database is down" in caplog.text
    retried = await post(client, hub, bounce())
    assert retried.json() == {"received": 1, "duplicates": 0}
    assert (await post(client, hub, bounce())).json() == {"received": 1, "duplicates": 1}
    assert attempts == 2


@pytest.mark.anyio
async def test_a_delivery_racing_an_unfinished_one_is_told_to_retry(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    started, release = anyio.Event(), anyio.Event()

    @hub.on("email.bounced")
    async def slow(e: HubEvent) -> None:
        started.set()
        await release.wait()

    responses: list[httpx.Response] = []
    async with anyio.create_task_group() as tg:

        async def first() -> None:
            responses.append(await post(client, hub, bounce()))

        tg.start_soon(first)
        await started.wait()
        racing = await post(client, hub, bounce())
        release.set()
    assert racing.status_code == 409
    assert racing.headers["retry-after"].isdigit()
    assert responses[0].json() == {"received": 1, "duplicates": 0}


@pytest.mark.anyio
async def test_a_misconfigured_handler_is_500_not_400(isolated_env: None) -> None:
    # Outside test/development the built-in handler needs a real secret.
    async with make_hub(env="staging", email={"provider": "fake"}) as h:
        transport = httpx.ASGITransport(app=create_app(h))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/webhooks/fake", content=b"{}")
    assert (response.status_code, response.json()) == (500, {"error": "internal error"})


@pytest.mark.anyio
async def test_healthz_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in metrics.text


@pytest.mark.anyio
async def test_metrics_serve_the_hubs_own_registry(isolated_env: None) -> None:
    registry = CollectorRegistry()
    settings = HubSettings.load(env="test")
    async with Hub(settings, metrics_registry=registry) as h:
        await h.email.send(to="ada@example.com", from_="shop@example.com", subject="Hi", text=".")
        transport = httpx.ASGITransport(app=create_app(h))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            text = (await client.get("/metrics")).text
    assert 'hub_operations_total{capability="email"' in text


@pytest.mark.anyio
async def test_mounts_inside_another_app(hub: Hub) -> None:
    outer = Starlette(routes=[Mount("/hooks", app=create_app(hub))])
    request = signed_request(hub, "fake", bounce())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=outer), base_url="http://testserver"
    ) as client:
        response = await client.post(
            "/hooks/webhooks/fake", content=request.body, headers=request.headers
        )
        health = await client.get("/hooks/healthz")
    assert response.json() == {"received": 1, "duplicates": 0}
    assert health.json() == {"status": "ok"}


def _request(path: bytes, query: bytes = b"", host: bytes = b"internal:8000") -> Request:
    return Request({
        "type": "http", "method": "POST", "scheme": "http", "path": path.decode(),
        "raw_path": path, "query_string": query, "headers": [(b"host", host)],
        "server": ("internal", 8000),
    })  # fmt: skip


def test_vendor_url_is_the_request_url_or_the_public_one() -> None:
    request = _request(b"/webhooks/twilio", b"a=1&bodySHA256=ab")
    assert vendor_url(request) == "http://internal:8000/webhooks/twilio?a=1&bodySHA256=ab"
    assert (
        vendor_url(request, "https://hooks.example.com/")
        == "https://hooks.example.com/webhooks/twilio?a=1&bodySHA256=ab"
    )
    assert vendor_url(_request(b"/webhooks/a%20b")) == "http://internal:8000/webhooks/a%20b"


@pytest.mark.anyio
async def test_public_url_reaches_the_handler(isolated_env: None) -> None:
    async with make_hub(webhooks={"public_url": "https://hooks.example.com/shop"}) as h:
        request = signed_request(h, "fake", bounce())
        assert request.url == "https://hooks.example.com/shop/webhooks/fake"
        assert (await post_event(h, bounce())).status_code == 200


# -- refusal status per handler ---------------------------------------------------------------


@pytest.mark.anyio
async def test_a_handler_chooses_the_status_of_a_refusal(
    isolated_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_hub(f"{__name__}:StopRetrying") as h:
        transport = httpx.ASGITransport(app=create_app(h))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            genuine = signed_request(h, "fake", bounce())
            forged = genuine.body.replace(b"ada@", b"eve@")
            with caplog.at_level(logging.INFO, logger="hub.webhooks"):
                refused = await client.post(
                    "/webhooks/fake", content=forged, headers=genuine.headers
                )
            malformed = await client.post(
                "/webhooks/fake", content=b"{}", headers={"Content-Length": "x"}
            )
            accepted = await client.post(
                "/webhooks/fake", content=genuine.body, headers=genuine.headers
            )
    assert (refused.status_code, refused.json()) == (406, {"error": "invalid webhook"})
    assert "signature mismatch" in caplog.text
    assert malformed.status_code == 406
    assert accepted.status_code == 200


@pytest.mark.anyio
async def test_a_refusal_status_that_is_not_4xx_is_a_configuration_error(
    isolated_env: None,
) -> None:
    async with make_hub(f"{__name__}:RefusesWith200") as h:
        with pytest.raises(ConfigurationError, match="refusal_status=200"):
            webhook_handler(h, "fake")
        transport = httpx.ASGITransport(app=create_app(h))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/webhooks/fake", content=b"{}")
    assert (response.status_code, response.json()) == (500, {"error": "internal error"})


@pytest.mark.anyio
async def test_a_vendor_that_cannot_be_reached_gets_500_so_it_retries(
    isolated_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_hub(f"{__name__}:FetchFails") as h:
        with caplog.at_level(logging.WARNING, logger="hub.webhooks"):
            response = await post_event(h, bounce())
    assert (response.status_code, response.json()) == (500, {"error": "internal error"})
    assert "the vendor will retry" in caplog.text
