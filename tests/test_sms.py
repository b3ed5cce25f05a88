"""hub.sms: sending through the local and fake providers, validation, batches, verification."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import hub
from hub.capabilities import builtin
from hub.capabilities.sms import (
    FEATURES,
    SmsMessage,
    VerificationResult,
    VerificationStarted,
    count_segments,
    normalize_phone_number,
    sms_encoding,
)
from hub.errors import AuthenticationError, InvalidRequest, RateLimited, UnsupportedFeature
from hub.plugins import ProviderSpec, Registry, default_registry
from hub.providers.fake.sms import FakeSmsProvider
from hub.settings import HubSettings
from hub.state.memory import MemoryStateStore
from hub.webhooks.events import HubEvent

SENDER = "+15550001111"
ALICE = "+14155550100"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fake_hub() -> AsyncIterator[hub.Hub]:
    async with hub.Hub.from_settings(env="test", sms={"default_sender": SENDER}) as h:
        yield h


def fake_of(h: hub.Hub) -> FakeSmsProvider:
    provider = h.sms.provider
    assert isinstance(provider, FakeSmsProvider)
    return provider


def code_in(message: SmsMessage) -> str:
    found = re.search(r"\b(\d{6})\b", message.body)
    assert found, "the message carries no 6-digit code"
    return found.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def registry_with(*specs: ProviderSpec) -> Registry:
    """The default registry with some provider specs replaced or added."""
    base = default_registry()
    providers = dict(base.providers)
    providers.update({(s.capability, s.name): s for s in specs})
    return Registry(capabilities=dict(base.capabilities), providers=providers)


def fake_spec(**changes: Any) -> ProviderSpec:
    return dataclasses.replace(default_registry().provider("sms", "fake"), **changes)


def test_features_match_the_builtin_vocabulary() -> None:
    assert FEATURES == builtin._SMS


# -- sending ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fake_send_returns_a_receipt_keeps_the_message_and_emits_delivered(
    fake_hub: hub.Hub,
) -> None:
    events: list[HubEvent] = []

    @fake_hub.on("sms.delivered")
    async def record(event: HubEvent) -> None:
        events.append(event)

    receipt = await fake_hub.sms.send("+1 (415) 555-0100", "Your table is ready")

    assert receipt.to == ALICE
    assert receipt.provider == "fake"
    assert receipt.status == "queued"
    assert receipt.segments == 1
    assert receipt.provider_message_id
    [message] = fake_hub.sms.outbox
    assert (message.to, message.sender, message.body) == (ALICE, SENDER, "Your table is ready")
    assert [e.subject_id for e in events] == [receipt.provider_id]
    assert events[0].data["to"] == ALICE


@pytest.mark.anyio
async def test_send_accepts_a_message_object_but_not_both_forms(fake_hub: hub.Hub) -> None:
    message = SmsMessage(to=ALICE, body="hi", sender="Acme", metadata={"order": "42"})
    receipt = await fake_hub.sms.send(message)
    assert fake_hub.sms.outbox == [message]
    assert receipt.to == ALICE
    with pytest.raises(InvalidRequest, match="not both"):
        await fake_hub.sms.send(message, "another body")


@pytest.mark.anyio
async def test_local_send_appends_a_json_line_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[HubEvent] = []
    async with hub.Hub.from_settings(
        env="development", data_dir=tmp_path, sms={"default_sender": "Acme"}
    ) as h:

        @h.on("sms.*")
        async def record(event: HubEvent) -> None:
            events.append(event)

        first = await h.sms.send(ALICE, "one")
        second = await h.sms.send("+44 20 7946 0958", "two €")
        assert [m.body for m in h.sms.outbox] == ["one", "two €"]

    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == [first.provider_id, second.provider_id]
    assert lines[1]["to"] == "+442079460958"
    assert lines[1]["sender"] == "Acme"
    assert lines[1]["body"] == "two €"
    assert lines[1]["segments"] == 1
    assert "created_at" in lines[0]
    stderr = capsys.readouterr().err
    assert f"sms to {ALICE}" in stderr
    assert str(tmp_path / "sms.jsonl") in stderr
    assert [e.type for e in events] == ["sms.delivered", "sms.delivered"]


@pytest.mark.anyio
async def test_local_announce_can_be_switched_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "phone" / "texts.jsonl"
    sms = {"default_sender": SENDER, "local": {"announce": False, "path": str(target)}}
    async with hub.Hub.from_settings(env="development", data_dir=tmp_path, sms=sms) as h:
        await h.sms.send(ALICE, "quiet")
    assert capsys.readouterr().err == ""
    assert json.loads(target.read_text())["body"] == "quiet"


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+14155550100", "+14155550100"),
        ("+1 (415) 555-0100", "+14155550100"),
        (" +44 20-7946-0958 ", "+442079460958"),
        ("+49 30 123456", "+4930123456"),
    ],
)
def test_phone_numbers_are_normalized_to_e164(given: str, expected: str) -> None:
    assert normalize_phone_number(given) == expected
    assert SmsMessage(to=given, body="x").to == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("4155550100", "must start with '+'"),
        ("0044 20 7946 0958", "must start with '+'"),
        ("+0 415 555 0100", "never starts with 0"),
        ("+1415555", "7 digits"),
        ("+1415555010012345", "16 digits"),
        ("+1.415.555.0100", "contains '.'"),
        ("+1 415 555 0100 ext 2", "contains 'e'"),
        (
            "+\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660",
            "contains '\u0661'",
        ),
        ("", "must start with '+'"),
    ],
)
@pytest.mark.anyio
async def test_bad_phone_numbers_are_refused_with_the_expected_form(
    fake_hub: hub.Hub, given: str, reason: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await fake_hub.sms.send(given, "hello")
    assert caught.value.field == "to"
    assert reason in str(caught.value)
    assert "+14155550100" in str(caught.value)
    assert fake_hub.sms.outbox == []


def test_a_number_must_be_a_string() -> None:
    with pytest.raises(InvalidRequest, match="must be a string"):
        normalize_phone_number(14155550100)


@pytest.mark.parametrize(
    ("sender", "problem"),
    [
        ("Acme Corporation", "1 to 11 letters"),
        ("Acme!", "1 to 11 letters"),
        ("4155550100", "must start with '+'"),
    ],
)
@pytest.mark.anyio
async def test_bad_senders_are_refused(fake_hub: hub.Hub, sender: str, problem: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await fake_hub.sms.send(ALICE, "x", sender=sender)
    assert caught.value.field == "sender"
    assert problem in str(caught.value)
    assert "Acme" in str(caught.value)


@pytest.mark.anyio
async def test_body_must_have_text_and_fit_1600_characters(fake_hub: hub.Hub) -> None:
    with pytest.raises(InvalidRequest, match="blank"):
        await fake_hub.sms.send(ALICE, "   ")
    with pytest.raises(InvalidRequest, match="body"):
        await fake_hub.sms.send(ALICE, "x" * 1601)
    with pytest.raises(InvalidRequest, match="body"):
        await fake_hub.sms.send(ALICE)


@pytest.mark.anyio
async def test_a_missing_sender_says_how_to_configure_one() -> None:
    async with hub.Hub.from_settings(env="test") as h:
        with pytest.raises(InvalidRequest, match="HUB_SMS__DEFAULT_SENDER"):
            await h.sms.send(ALICE, "hi")
        receipt = await h.sms.send(ALICE, "hi", sender="Acme")
        assert receipt.to == ALICE
    async with hub.Hub.from_settings(env="test", sms={"default_sender": "123"}) as h:
        with pytest.raises(InvalidRequest, match="HUB_SMS__DEFAULT_SENDER is invalid"):
            await h.sms.send(ALICE, "hi")


@pytest.mark.anyio
async def test_features_the_provider_lacks_are_refused_before_sending() -> None:
    registry = registry_with(fake_spec(features=frozenset({"batch"})))
    settings = HubSettings.load(env="test", sms={"default_sender": SENDER})
    async with hub.Hub(settings, registry=registry) as h:
        with pytest.raises(UnsupportedFeature) as caught:
            await h.sms.send(ALICE, "hi", sender="Acme")
        assert caught.value.feature == "alphanumeric_sender"
        with pytest.raises(UnsupportedFeature, match="media"):
            await h.sms.send(ALICE, "look", media_urls=["https://example.com/cat.png"])
        await h.sms.send(ALICE, "hi", sender="+15550002222")
        assert len(h.sms.outbox) == 1


@pytest.mark.anyio
async def test_local_refuses_a_status_callback_it_cannot_call(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(
        env="development", data_dir=tmp_path, sms={"default_sender": SENDER}
    ) as h:
        with pytest.raises(UnsupportedFeature, match="status_callback"):
            await h.sms.send(ALICE, "hi", status_callback="https://example.com/status")


@pytest.mark.anyio
async def test_media_and_status_callback_reach_the_fake(fake_hub: hub.Hub) -> None:
    await fake_hub.sms.send(
        ALICE,
        "look",
        media_urls=["https://example.com/cat.png"],
        status_callback="https://example.com/status",
    )
    [message] = fake_hub.sms.outbox
    assert [str(u) for u in message.media_urls] == ["https://example.com/cat.png"]
    assert message.required_features() == {"media", "status_callback"}
    with pytest.raises(InvalidRequest, match="media_urls"):
        await fake_hub.sms.send(ALICE, "look", media_urls=["not a url"])


# -- segments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # an extension character is two septets
        ("€" * 81, "GSM-7", 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3),  # the escape pair is never split
        ("Grüße, Ærø! ¿Qué?", "GSM-7", 1),
        ("ж" * 70, "UCS-2", 1),
        ("ж" * 71, "UCS-2", 2),
        ("ж" * 134, "UCS-2", 2),
        ("ж" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # a surrogate pair is two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
        ("ж" * 66 + "😀" + "ж" * 66, "UCS-2", 3),  # the pair is never split
        ("a" * 159 + "ç", "UCS-2", 3),  # one non-GSM character switches the whole message
    ],
)
def test_segments_are_counted_per_encoding(body: str, encoding: str, segments: int) -> None:
    assert sms_encoding(body) == encoding
    assert count_segments(body) == segments


@pytest.mark.anyio
async def test_the_receipt_reports_billed_segments(fake_hub: hub.Hub) -> None:
    receipt = await fake_hub.sms.send(ALICE, "Привет! " * 20)
    assert receipt.segments == 3


# -- batches ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_send_many_returns_one_result_per_message_in_order(fake_hub: hub.Hub) -> None:
    results = await fake_hub.sms.send_many(
        [
            {"to": ALICE, "body": "first"},
            {"to": "not a number", "body": "second"},
            SmsMessage(to="+442079460958", body="third"),
        ]
    )
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, InvalidRequest)
    assert results[0].receipt is not None
    assert results[0].receipt.to == ALICE
    assert [m.body for m in fake_hub.sms.outbox] == ["first", "third"]
    assert fake_of(fake_hub).faults.calls == ["send_many"]


@pytest.mark.anyio
async def test_send_many_without_a_batch_api_sends_each(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(
        env="development", data_dir=tmp_path, sms={"default_sender": SENDER}
    ) as h:
        messages = [{"to": ALICE, "body": f"n{i}"} for i in range(5)]
        results = await h.sms.send_many(messages, concurrency=2)
        assert [r.ok for r in results] == [True] * 5
        assert sorted(m.body for m in h.sms.outbox) == [f"n{i}" for i in range(5)]


@pytest.mark.anyio
async def test_a_failed_batch_call_fails_each_message(fake_hub: hub.Hub) -> None:
    fake_of(fake_hub).fail_next(1, AuthenticationError("bad key", provider="fake"))
    results = await fake_hub.sms.send_many([{"to": ALICE, "body": "a"}, {"to": ALICE, "body": "b"}])
    assert [type(r.error) for r in results] == [AuthenticationError, AuthenticationError]
    assert fake_hub.sms.outbox == []


@pytest.mark.anyio
async def test_send_many_with_keys_can_be_repeated_safely(fake_hub: hub.Hub) -> None:
    messages = [{"to": ALICE, "body": "a"}, {"to": ALICE, "body": "b"}]
    first = await fake_hub.sms.send_many(messages, idempotency_keys=["k1", "k2"])
    again = await fake_hub.sms.send_many(messages, idempotency_keys=["k1", "k2"])
    assert [r.receipt for r in first] == [r.receipt for r in again]
    assert len(fake_hub.sms.outbox) == 2
    with pytest.raises(InvalidRequest, match="one key per message"):
        await fake_hub.sms.send_many(messages, idempotency_keys=["k1"])


@pytest.mark.anyio
async def test_the_hub_remembers_each_key_of_a_batch_for_a_vendor_without_idempotency(
    fake_hub: hub.Hub,
) -> None:
    """The fake declares "batch" but not "idempotency": the hub keeps the keys, per message."""
    fake = fake_of(fake_hub)
    messages = [{"to": ALICE, "body": "a"}, {"to": ALICE, "body": "b"}]
    first = await fake_hub.sms.send_many(messages, idempotency_keys=["k1", "k2"])
    fake.receipts.clear()  # the vendor itself would send again
    again = await fake_hub.sms.send_many(messages, idempotency_keys=["k1", "k2"])
    single = await fake_hub.sms.send(ALICE, "b", idempotency_key="k2")
    assert [r.receipt for r in again] == [r.receipt for r in first]
    assert single == first[1].receipt
    assert [m.body for m in fake_hub.sms.outbox] == ["a", "b"]
    assert fake.faults.calls == ["send_many"]


@pytest.mark.anyio
async def test_a_batch_sends_only_the_messages_whose_keys_are_new(fake_hub: hub.Hub) -> None:
    fake = fake_of(fake_hub)
    await fake_hub.sms.send(ALICE, "a", idempotency_key="k1")
    fake.receipts.clear()
    messages = [{"to": ALICE, "body": "a"}, {"to": ALICE, "body": "b"}, {"to": ALICE, "body": "c"}]
    results = await fake_hub.sms.send_many(messages, idempotency_keys=["k1", "k2", "k3"])
    assert [r.ok for r in results] == [True, True, True]
    assert [m.body for m in fake_hub.sms.outbox] == ["a", "b", "c"]
    assert fake.faults.calls == ["send", "send_many"]
    assert sorted(fake.receipts) == ["k2", "k3"]  # the batch call carried only those two


@pytest.mark.anyio
async def test_an_invalid_message_in_a_batch_leaves_its_key_free(fake_hub: hub.Hub) -> None:
    messages: list[dict[str, Any]] = [{"to": ALICE, "body": "a"}, {"to": "nobody", "body": "b"}]
    results = await fake_hub.sms.send_many(messages, idempotency_keys=["k1", "k2"])
    assert isinstance(results[1].error, InvalidRequest)
    fixed = await fake_hub.sms.send(ALICE, "b", idempotency_key="k2")
    assert fixed.to == ALICE
    assert [m.body for m in fake_hub.sms.outbox] == ["a", "b"]


@pytest.mark.anyio
async def test_a_broken_batch_call_raises_as_it_is_and_frees_its_keys(
    fake_hub: hub.Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("provider bug")

    fake = fake_of(fake_hub)
    monkeypatch.setattr(fake, "send_many", broken)
    with pytest.raises(RuntimeError, match="provider bug"):
        await fake_hub.sms.send_many([{"to": ALICE, "body": "a"}], idempotency_keys=["k1"])
    monkeypatch.undo()
    results = await fake_hub.sms.send_many([{"to": ALICE, "body": "a"}], idempotency_keys=["k1"])
    assert results[0].ok
    assert [m.body for m in fake_hub.sms.outbox] == ["a"]


# -- senders picked by the vendor (sender_pool) -----------------------------------------------


@pytest.mark.anyio
async def test_a_provider_with_a_sender_pool_needs_no_sender() -> None:
    pooled = fake_spec(features=frozenset({"batch", "sender_pool"}))
    async with hub.Hub(HubSettings.load(env="test"), registry=registry_with(pooled)) as h:
        receipt = await h.sms.send(ALICE, "hi")
        results = await h.sms.send_many([{"to": ALICE, "body": "batch"}])
        assert receipt.to == ALICE
        assert results[0].ok
        assert [m.sender for m in h.sms.outbox] == [None, None]
        await h.sms.send(ALICE, "own", sender="+15550002222")
        assert h.sms.outbox[-1].sender == "+15550002222"


@pytest.mark.anyio
async def test_a_configured_default_sender_still_applies_with_a_pool() -> None:
    pooled = fake_spec(features=frozenset({"sender_pool"}))
    settings = HubSettings.load(env="test", sms={"default_sender": SENDER})
    async with hub.Hub(settings, registry=registry_with(pooled)) as h:
        await h.sms.send(ALICE, "hi")
        assert h.sms.outbox[0].sender == SENDER


@pytest.mark.anyio
async def test_a_message_without_a_sender_goes_only_to_a_provider_with_a_pool() -> None:
    plain = fake_spec(features=frozenset())
    pooled = dataclasses.replace(plain, name="pooled", features=frozenset({"sender_pool"}))
    settings = HubSettings.load(env="test", sms={"providers": ["fake", "pooled"]})
    async with hub.Hub(settings, registry=registry_with(plain, pooled)) as h:
        assert (await h.sms.send(ALICE, "no sender")).provider == "pooled"
        assert (await h.sms.send(ALICE, "own", sender=SENDER)).provider == "fake"


def test_a_message_without_a_sender_requires_a_sender_pool() -> None:
    assert "sender_pool" in SmsMessage(to=ALICE, body="hi").required_features()
    assert "sender_pool" not in SmsMessage(to=ALICE, body="hi", sender=SENDER).required_features()


# -- idempotency and faults -------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_same_key_sends_once_on_the_fake(fake_hub: hub.Hub) -> None:
    first = await fake_hub.sms.send(ALICE, "once", idempotency_key="order-42")
    second = await fake_hub.sms.send(ALICE, "once", idempotency_key="order-42")
    assert first == second
    assert len(fake_hub.sms.outbox) == 1


@pytest.mark.anyio
async def test_the_same_key_sends_once_on_local_even_after_a_restart(tmp_path: Path) -> None:
    receipts = []
    for _ in range(2):
        async with hub.Hub.from_settings(
            env="development", data_dir=tmp_path, sms={"default_sender": SENDER}
        ) as h:
            receipts.append(await h.sms.send(ALICE, "once", idempotency_key="order-42"))
            assert len(h.sms.outbox) == 1
    assert receipts[0] == receipts[1]


@pytest.mark.anyio
async def test_an_injected_fault_surfaces_and_a_retry_with_the_key_sends_once(
    fake_hub: hub.Hub,
) -> None:
    fake = fake_of(fake_hub)
    fake.fail_next(1, AuthenticationError("injected: bad key", provider="fake", status=401))
    with pytest.raises(AuthenticationError, match="injected"):
        await fake_hub.sms.send(ALICE, "retry me", idempotency_key="k")
    assert fake_hub.sms.outbox == []
    await fake_hub.sms.send(ALICE, "retry me", idempotency_key="k")
    await fake_hub.sms.send(ALICE, "retry me", idempotency_key="k")
    assert len(fake_hub.sms.outbox) == 1
    # The third call never reaches the vendor: the hub remembers the completed key.
    assert fake.faults.calls == ["send", "send"]


@pytest.mark.anyio
async def test_fake_latency_is_applied() -> None:
    sms = {"default_sender": SENDER, "fake": {"latency": 0.05}}
    async with hub.Hub.from_settings(env="test", sms=sms) as h:
        started = anyio.current_time()
        await h.sms.send(ALICE, "slow")
        assert anyio.current_time() - started >= 0.05


# -- verification -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_correct_code_passes_once(fake_hub: hub.Hub) -> None:
    started = await fake_hub.sms.start_verification("+1 415 555 0100")
    assert isinstance(started, VerificationStarted)
    assert (started.to, started.channel, started.provider) == (ALICE, "sms", "fake")
    [message] = fake_hub.sms.outbox
    assert message.to == ALICE
    assert message.body.startswith("Your verification code is ")
    code = code_in(message)

    result = await fake_hub.sms.check_verification(ALICE, f" {code[:3]} {code[3:]} ")
    assert result.status == "approved"
    assert result.valid
    assert result  # truthy only when approved
    again = await fake_hub.sms.check_verification(ALICE, code)
    assert not again.valid
    assert again.status == "expired"


@pytest.mark.anyio
async def test_wrong_codes_count_and_the_limit_kills_the_code(fake_hub: hub.Hub) -> None:
    await fake_hub.sms.start_verification(ALICE, max_checks=3)
    code = code_in(fake_hub.sms.outbox[-1])
    first = await fake_hub.sms.check_verification(ALICE, wrong(code))
    second = await fake_hub.sms.check_verification(ALICE, wrong(code))
    third = await fake_hub.sms.check_verification(ALICE, wrong(code))
    assert [(r.status, r.attempts_remaining) for r in (first, second, third)] == [
        ("incorrect", 2),
        ("incorrect", 1),
        ("too_many_attempts", 0),
    ]
    dead = await fake_hub.sms.check_verification(ALICE, code)
    assert dead.status == "too_many_attempts"
    assert not dead


@pytest.mark.anyio
async def test_concurrent_guesses_cannot_exceed_the_limit(fake_hub: hub.Hub) -> None:
    await fake_hub.sms.start_verification(ALICE)
    code = code_in(fake_hub.sms.outbox[-1])
    results: list[VerificationResult] = []

    async def guess(typed: str) -> None:
        results.append(await fake_hub.sms.check_verification(ALICE, typed))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(guess, wrong(code))
    assert [r.status for r in results].count("incorrect") == 4
    assert (await fake_hub.sms.check_verification(ALICE, code)).status == "too_many_attempts"


@pytest.mark.anyio
async def test_concurrent_checks_of_the_right_code_approve_once(fake_hub: hub.Hub) -> None:
    await fake_hub.sms.start_verification(ALICE)
    code = code_in(fake_hub.sms.outbox[-1])
    results: list[VerificationResult] = []

    async def check() -> None:
        results.append(await fake_hub.sms.check_verification(ALICE, code))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(check)
    assert [r.valid for r in results].count(True) == 1


@pytest.mark.anyio
async def test_an_expired_code_fails(fake_hub: hub.Hub) -> None:
    await fake_hub.sms.start_verification(ALICE, expires_in=0.05)
    code = code_in(fake_hub.sms.outbox[-1])
    await anyio.sleep(0.1)
    result = await fake_hub.sms.check_verification(ALICE, code)
    assert result.status == "expired"
    assert not result.valid


@pytest.mark.anyio
async def test_a_resend_within_the_cool_down_is_rate_limited(fake_hub: hub.Hub) -> None:
    await fake_hub.sms.start_verification(ALICE, resend_after=0.2)
    with pytest.raises(RateLimited) as caught:
        await fake_hub.sms.start_verification(ALICE, resend_after=0.2)
    assert caught.value.provider == "verify"
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 0.2
    assert "wait" in str(caught.value)
    assert len(fake_hub.sms.outbox) == 1
    old = code_in(fake_hub.sms.outbox[-1])

    await anyio.sleep(0.25)
    await fake_hub.sms.start_verification(ALICE)
    new = code_in(fake_hub.sms.outbox[-1])
    if new != old:
        assert (await fake_hub.sms.check_verification(ALICE, old)).status == "incorrect"
    assert (await fake_hub.sms.check_verification(ALICE, new)).valid


@pytest.mark.anyio
async def test_a_failed_send_lifts_the_cool_down(fake_hub: hub.Hub) -> None:
    fake_of(fake_hub).fail_next(1, AuthenticationError("injected", provider="fake"))
    with pytest.raises(AuthenticationError):
        await fake_hub.sms.start_verification(ALICE)
    await fake_hub.sms.start_verification(ALICE)
    assert len(fake_hub.sms.outbox) == 1


@pytest.mark.anyio
async def test_verification_options_are_checked(fake_hub: hub.Hub) -> None:
    with pytest.raises(InvalidRequest, match=re.escape("'{code}'")):
        await fake_hub.sms.start_verification(ALICE, template="Welcome!")
    with pytest.raises(InvalidRequest, match="expires_in"):
        await fake_hub.sms.start_verification(ALICE, expires_in=0)
    with pytest.raises(UnsupportedFeature, match="channel 'call'"):
        await fake_hub.sms.start_verification(ALICE, channel="call")
    await fake_hub.sms.start_verification(ALICE, template="Acme code: {code}. Ignore if not you.")
    code = code_in(fake_hub.sms.outbox[-1])
    assert fake_hub.sms.outbox[-1].body.startswith("Acme code: ")
    with pytest.raises(InvalidRequest, match="digits"):
        await fake_hub.sms.check_verification(ALICE, "abc")
    assert (await fake_hub.sms.check_verification(ALICE, code)).valid  # "abc" cost no attempt


class RecordingStore(MemoryStateStore):
    """A memory store that remembers every key and value ever written."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[tuple[str, bytes]] = []

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self.written.append((key, value))
        await super().set(key, value, ttl=ttl)

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        self.written.append((key, value))
        return await super().add(key, value, ttl=ttl)


@pytest.mark.anyio
async def test_the_code_is_never_stored_shown_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = RecordingStore()
    settings = HubSettings.load(env="test", sms={"default_sender": SENDER})
    async with hub.Hub(settings, state=store) as h:
        started = await h.sms.start_verification(ALICE)
        code = code_in(h.sms.outbox[-1])
        failed = await h.sms.check_verification(ALICE, wrong(code))
        passed = await h.sms.check_verification(ALICE, code)
        assert passed.valid

        shown = [repr(x) for x in (h, h.sms, started, failed, passed, h.sms.outbox[-1])]
        shown += [str(started.model_dump()), str(passed.model_dump())]
        assert not [s for s in shown if code in s]
    assert store.written, "the verifier keeps its state in the store"
    assert not [k for k, v in store.written if code.encode() in v or ALICE in k]
    hub_records = [r for r in caplog.records if r.name.startswith("hub")]
    assert hub_records, "verification is logged (without the code)"
    assert not [r for r in caplog.records if code in r.getMessage()]


@pytest.mark.anyio
async def test_processes_sharing_a_state_store_agree() -> None:
    shared = MemoryStateStore()
    settings = HubSettings.load(env="test", sms={"default_sender": SENDER})
    one, two = hub.Hub(settings, state=shared), hub.Hub(settings, state=shared)
    await one.sms.start_verification(ALICE)
    with pytest.raises(RateLimited):
        await two.sms.start_verification(ALICE)
    code = code_in(one.sms.outbox[-1])
    assert (await two.sms.check_verification(ALICE, code)).valid
    await one.aclose()
    await two.aclose()


class NativeVerifier:
    """A provider whose vendor runs verification itself (like Twilio Verify)."""

    def __init__(self, settings: Any, context: Any) -> None:
        self.calls: list[tuple[str, ...]] = []

    async def send(self, message: SmsMessage, *, idempotency_key: str) -> hub.Receipt:
        raise AssertionError("a native verifier is not asked to send the code")

    async def start_verification(self, to: str, *, channel: str) -> VerificationStarted:
        self.calls.append(("start", to, channel))
        return VerificationStarted(to=to, channel=channel, provider="native")

    async def check_verification(self, to: str, code: str) -> VerificationResult:
        self.calls.append(("check", to, code))
        return VerificationResult(to=to, status="approved" if code == "4242" else "incorrect")

    async def aclose(self) -> None:
        return None


@pytest.mark.anyio
async def test_a_provider_with_native_verification_is_used_instead() -> None:
    native = ProviderSpec(
        "sms", "native", f"{__name__}:NativeVerifier", features=frozenset({"verification"})
    )
    settings = HubSettings.load(env="test", sms={"provider": "native"})
    async with hub.Hub(settings, registry=registry_with(native)) as h:
        started = await h.sms.start_verification("+1 415 555 0100", channel="call")
        assert started.provider == "native"
        assert (await h.sms.check_verification(ALICE, "4242")).valid
        assert not (await h.sms.check_verification(ALICE, "1111")).valid
        provider = h.sms.provider
        assert isinstance(provider, NativeVerifier)
        assert provider.calls == [
            ("start", ALICE, "call"),
            ("check", ALICE, "4242"),
            ("check", ALICE, "1111"),
        ]
