"""HubEvent's vocabulary and the dispatcher: wildcards, order, dedupe, failures, concurrency."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import anyio
import pytest
from pydantic import ValidationError

from hub import Hub, HubSettings
from hub.errors import ConfigurationError, InvalidRequest
from hub.webhooks.dispatcher import Delivery
from hub.webhooks.events import EVENT_TYPES, HubEvent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def hub(isolated_env: None) -> AsyncIterator[Hub]:
    async with Hub(HubSettings.load(env="test")) as h:
        yield h


def event(type_: str = "email.bounced", event_id: str = "evt_1", **fields: object) -> HubEvent:
    capability = {"payment": "payments"}.get(type_.split(".")[0], type_.split(".")[0])
    return HubEvent(
        type=type_, provider="fake", capability=capability, provider_event_id=event_id, **fields
    )


# -- the event model ---------------------------------------------------------------------------


def test_vocabulary_covers_what_the_design_names() -> None:
    for name in ("email.delivered", "email.bounced", "sms.failed", "payment.refunded"):
        assert name in EVENT_TYPES


def test_the_docs_table_lists_the_whole_vocabulary() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "webhooks.md").read_text()
    documented = set(re.findall(r"^\| `([a-z]+\.[a-z_]+)` \|", docs, re.MULTILINE))
    assert documented == set(EVENT_TYPES)


@pytest.mark.parametrize(
    ("type_", "capability"),
    [
        ("email.bouncd", "email"),
        ("sms.delivered", "email"),
        ("Email.bounced", "email"),
        ("payments.refunded", "payments"),
        ("email", "email"),
    ],
)
def test_types_outside_the_vocabulary_are_refused(type_: str, capability: str) -> None:
    with pytest.raises(ValidationError, match="event type"):
        HubEvent(type=type_, provider="p", capability=capability, provider_event_id="e")


def test_vendor_specific_types_use_x_prefix_and_plugin_capabilities_own_their_names() -> None:
    assert event("email.x-group_resubscribed").type == "email.x-group_resubscribed"
    fax = HubEvent(type="fax.sent", provider="acme", capability="fax", provider_event_id="e")
    assert fax.type == "fax.sent"


def test_typed_fields_are_validated_and_promoted_from_data() -> None:
    promoted = event("email.delivered", data={"recipient": "ada@example.com"})
    assert promoted.recipient == "ada@example.com"
    assert promoted.data == {"recipient": "ada@example.com"}
    paid = event("payment.refunded", amount=500, currency="eur")
    assert (paid.amount, paid.currency) == (500, "EUR")
    with pytest.raises(ValidationError, match="currency"):
        event("payment.refunded", amount=500)
    with pytest.raises(ValidationError):
        event(bounce_type="permanent")
    naive = event(occurred_at=datetime(2024, 1, 1, 12))  # naive on purpose
    assert naive.occurred_at.utcoffset() is not None


def test_raw_payload_stays_out_of_repr() -> None:
    assert "secret-ish" not in repr(event(raw={"card": "secret-ish"}))


# -- registration ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bad_patterns_and_sync_handlers_are_refused(hub: Hub) -> None:
    bad = (
        "email.bounce",
        "email*",
        "ema?l.bounced",
        "",
        "email.**",
        "payments.*",
        "payments.refunded",
    )
    for pattern in bad:
        with pytest.raises(InvalidRequest, match=r"pattern|event type"):
            hub.on(pattern)

    def sync_handler(e: HubEvent) -> None:
        return None

    with pytest.raises(InvalidRequest, match="async"):
        hub.on("email.bounced")(sync_handler)  # type: ignore[type-var]


# -- routing -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_wildcards_and_registration_order(hub: Hub) -> None:
    calls: list[str] = []

    @hub.on("*")
    async def everything(e: HubEvent) -> None:
        calls.append(f"*:{e.type}")

    @hub.on("email.*")
    async def email(e: HubEvent) -> None:
        calls.append(f"email.*:{e.type}")

    @hub.on("email.bounced")
    async def bounced(e: HubEvent) -> None:
        calls.append(f"bounced:{e.type}")

    @hub.on("email.bounced")
    async def bounced_again(e: HubEvent) -> None:
        calls.append(f"bounced2:{e.type}")

    assert await hub.dispatch(event("email.bounced", "a"))
    assert await hub.dispatch(event("email.opened", "b"))
    assert await hub.dispatch(event("sms.delivered", "c"))
    assert calls == [
        "*:email.bounced", "email.*:email.bounced", "bounced:email.bounced",
        "bounced2:email.bounced", "*:email.opened", "email.*:email.opened", "*:sms.delivered",
    ]  # fmt: skip


@pytest.mark.anyio
async def test_a_redelivered_event_runs_handlers_once(hub: Hub) -> None:
    seen: list[str] = []

    @hub.on("email.*")
    async def record(e: HubEvent) -> None:
        seen.append(e.provider_event_id)

    assert await hub.dispatch(event(event_id="evt_1")) is True
    assert await hub.dispatch(event(event_id="evt_1")) is False
    assert await hub.dispatch(event("email.delivered", event_id="evt_1")) is False
    assert await hub.dispatch(event(event_id="evt_2")) is True
    assert seen == ["evt_1", "evt_2"]


@pytest.mark.anyio
async def test_same_id_from_another_provider_is_another_event(hub: Hub) -> None:
    seen: list[str] = []

    @hub.on("*")
    async def record(e: HubEvent) -> None:
        seen.append(e.provider)

    other = event().model_copy(update={"provider": "acme"})
    assert await hub.dispatch(event())
    assert await hub.dispatch(other)
    assert seen == ["fake", "acme"]


class Boom(Exception):
    pass


@pytest.mark.anyio
async def test_a_failing_handler_leaves_the_event_unmarked(hub: Hub) -> None:
    calls: list[str] = []
    failures = [Boom("first delivery fails")]

    @hub.on("email.bounced")
    async def first(e: HubEvent) -> None:
        calls.append("first")

    @hub.on("email.bounced")
    async def flaky(e: HubEvent) -> None:
        calls.append("flaky")
        if failures:
            raise failures.pop()

    @hub.on("email.bounced")
    async def last(e: HubEvent) -> None:
        calls.append("last")

    with pytest.raises(Boom, match="first delivery fails"):
        await hub.dispatch(event())
    assert calls == ["first", "flaky"]  # the failure stops the event
    assert await hub.dispatch(event()) is True  # the vendor's retry runs it again
    assert calls == ["first", "flaky", "first", "flaky", "last"]
    assert await hub.dispatch(event()) is False


@pytest.mark.anyio
async def test_concurrent_duplicates_run_once(hub: Hub) -> None:
    started, release = anyio.Event(), anyio.Event()
    runs = 0
    outcomes: list[Delivery] = []

    @hub.on("email.bounced")
    async def slow(e: HubEvent) -> None:
        nonlocal runs
        runs += 1
        started.set()
        await release.wait()

    dispatcher = hub._runtime.dispatcher

    async def deliver() -> None:
        outcomes.append(await dispatcher.deliver(event()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(deliver)
        await started.wait()
        await deliver()  # arrives while the first is still running
        assert outcomes == [Delivery.IN_PROGRESS]
        release.set()
    assert outcomes == [Delivery.IN_PROGRESS, Delivery.HANDLED]
    assert await dispatcher.deliver(event()) is Delivery.DUPLICATE
    assert runs == 1


@pytest.mark.anyio
async def test_a_cancelled_handler_releases_the_event(hub: Hub) -> None:
    runs = 0

    @hub.on("email.bounced")
    async def hangs_once(e: HubEvent) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            await anyio.sleep_forever()

    with anyio.move_on_after(0.05):
        await hub.dispatch(event())
    assert await hub.dispatch(event()) is True
    assert runs == 2


@pytest.mark.anyio
async def test_a_crashed_process_claim_expires(hub: Hub) -> None:
    runs = 0
    dispatcher = hub._runtime.dispatcher
    dispatcher.processing_ttl = 0.05

    @hub.on("email.bounced")
    async def handler(e: HubEvent) -> None:
        nonlocal runs
        runs += 1

    # What a process killed mid-handler leaves behind: a claim that nobody will finish.
    await hub.state.add(_claim_key(event()), b"processing:x", ttl=dispatcher.processing_ttl)
    assert await dispatcher.deliver(event()) is Delivery.IN_PROGRESS
    await anyio.sleep(0.1)
    assert await dispatcher.deliver(event()) is Delivery.HANDLED
    assert runs == 1


def _claim_key(e: HubEvent) -> str:
    from hub.webhooks.dispatcher import _claim_key as key

    return key(e)


# -- events emitted by built-in providers ------------------------------------------------------


@pytest.mark.anyio
async def test_fake_provider_events_reach_handlers(hub: Hub) -> None:
    delivered: list[HubEvent] = []

    @hub.on("email.delivered")
    async def on_delivered(e: HubEvent) -> None:
        delivered.append(e)

    receipt = await hub.email.send(
        to="ada@example.com", from_="shop@example.com", subject="Hi", text="Hello"
    )
    assert [(e.recipient, e.subject_id, e.provider) for e in delivered] == [
        ("ada@example.com", receipt.provider_id, "fake")
    ]


@pytest.mark.anyio
async def test_local_provider_events_reach_handlers(isolated_env: None, tmp_path: Path) -> None:
    async with Hub(HubSettings.load(env="development", data_dir=tmp_path)) as h:
        delivered: list[str | None] = []

        @h.on("email.*")
        async def on_email(e: HubEvent) -> None:
            delivered.append(e.recipient)

        await h.email.send(to="ada@example.com", from_="shop@example.com", subject="Hi", text=".")
        assert delivered == ["ada@example.com"]


# -- across processes (Redis) ------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.redis
async def test_two_hubs_sharing_redis_dedupe_each_other(isolated_env: None, redis_url: str) -> None:
    settings = HubSettings.load(env="test", state={"url": redis_url})
    try:
        first, second = Hub(settings), Hub(settings)
    except ConfigurationError as exc:
        pytest.skip(f"the Redis state store is not available yet: open_state_store said {exc}")
    runs: list[str] = []
    async with first, second:
        for name, h in (("first", first), ("second", second)):

            @h.on("email.bounced")
            async def record(e: HubEvent, name: str = name) -> None:
                runs.append(name)

        shared = event(event_id=f"evt_{uuid.uuid4().hex}")
        results = []
        async with anyio.create_task_group() as tg:
            for h in (first, second):

                async def go(h: Hub = h) -> None:
                    results.append(await h.dispatch(shared))

                tg.start_soon(go)
        assert sorted(results) == [False, True]
        assert await second.dispatch(shared) is False
        assert await first.dispatch(shared) is False
        assert len(runs) == 1


@pytest.mark.anyio
async def test_receive_awaits_prepare_before_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers that must fetch a certificate first (SNS, PayPal) get an async prepare()."""
    from hub.webhooks import handler as handler_module
    from hub.webhooks.handler import InboundRequest, receive

    calls: list[str] = []

    class Fetching:
        async def prepare(self, request: InboundRequest) -> None:
            calls.append("prepare")

        def verify(self, request: InboundRequest) -> None:
            calls.append("verify")

        def parse(self, request: InboundRequest) -> list[HubEvent]:
            calls.append("parse")
            return []

    monkeypatch.setattr(handler_module, "webhook_handler", lambda h, provider: Fetching())
    async with Hub.from_settings(env="test") as h:
        received = await receive(h, "fetching", InboundRequest(url="https://x/", body=b"{}"))
    assert calls == ["prepare", "verify", "parse"]
    assert received is not None
