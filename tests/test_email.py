"""Email through its facade on the local and fake providers: validation, MIME, batches."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from collections.abc import Sequence
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any, cast

import anyio
import pytest

import hub
from hub.capabilities._batch import send_chunks
from hub.errors import HubError
from hub.plugins import ProviderSpec, discover
from hub.providers.fake.email import FakeEmailProvider

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def test_send_returns_a_receipt_with_a_status_per_recipient(h: hub.Hub) -> None:
    receipt = await h.email.send(
        to=["Ada <ada@example.com>", "bob@example.com"],
        cc="carol@example.com",
        bcc=["dave@example.com"],
        subject="Hello",
        text="Hi",
    )
    assert receipt.provider == h.email.providers[0]
    assert receipt.provider_message_id
    assert [r.email for r in receipt.recipients] == [
        "ada@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    ]
    assert {r.status for r in receipt.recipients} <= {"queued", "sent"}
    assert len(receipt.idempotency_key) >= 16


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"to": "not-an-address", "text": "x"}, "not an email address"),
        ({"to": "ada@", "text": "x"}, "ada@"),
        ({"to": [], "text": "x"}, "at least one recipient"),
        ({"to": "ada@example.com"}, "text, html or a template_id"),
        ({"to": "ada@example.com", "text": "x", "subject": "a\r\nBcc: evil@example.com"}, "line"),
        ({"to": "ada@example.com", "text": "x", "headers": {"X-A": "1\r\nBcc: e@x.com"}}, "header"),
        ({"to": "ada@example.com", "text": "x", "headers": {"Bad Name": "1"}}, "header"),
        ({"to": "ada@example.com", "text": "x", "unknown": 1}, "unknown"),
    ],
)
async def test_bad_messages_raise_invalid_request_naming_the_problem(
    h: hub.Hub, fields: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(hub.InvalidRequest) as info:
        await h.email.send(**fields)
    assert fragment in str(info.value)
    assert str(info.value).startswith("invalid email message")


async def test_missing_sender_without_default_says_how_to_fix(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(env="test", data_dir=tmp_path) as bare:
        with pytest.raises(hub.InvalidRequest, match="HUB_EMAIL__DEFAULT_FROM"):
            await bare.email.send(to="ada@example.com", text="x")


async def test_same_idempotency_key_sends_once(h: hub.Hub) -> None:
    first = await h.email.send(to="ada@example.com", text="x", idempotency_key="welcome-ada")
    again = await h.email.send(to="ada@example.com", text="x", idempotency_key="welcome-ada")
    assert again.provider_message_id == first.provider_message_id
    assert len(h.email.outbox) == 1


async def test_send_many_returns_one_result_per_message_in_order(h: hub.Hub) -> None:
    results = await h.email.send_many(
        [
            {"to": "a@example.com", "text": "1"},
            {"to": "not-an-address", "text": "2"},
            {"to": "c@example.com", "text": "3"},
        ]
    )
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, hub.InvalidRequest)
    assert len(h.email.outbox) == 2


async def test_local_writes_a_complete_mime_file(tmp_path: Path) -> None:
    settings = hub.HubSettings.load(env="development", data_dir=tmp_path)
    async with hub.Hub(settings) as h:
        await h.email.send(
            from_="Zoë Shop <shop@example.com>",
            to="Åda Lovelace <ada@example.com>",
            bcc="secret@example.com",
            reply_to="help@example.com",
            subject="Grüße ☃",
            text="plain body",
            html='<p>html body <img src="cid:logo"></p>',
            attachments=[
                hub.Attachment(filename="notes.txt", content=b"attached bytes"),
                hub.Attachment(filename="logo.png", content=PNG, inline=True, content_id="logo"),
            ],
            headers={"X-Order": "42"},
            tags=["orders"],
            metadata={"order": "42"},
        )
        [path] = h.email.outbox  # the local provider's outbox holds .eml paths
    raw = await anyio.Path(cast(Path, path)).read_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, MimeMessage)
    assert parsed["Subject"] == "Grüße ☃"
    assert parsed["From"].addresses[0].display_name == "Zoë Shop"
    assert parsed["To"].addresses[0].display_name == "Åda Lovelace"
    assert parsed["Bcc"] is None  # bcc never appears in headers
    assert parsed["Reply-To"] == "help@example.com"
    assert parsed["X-Order"] == "42"
    assert parsed["X-Tags"] == "orders"
    body = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert body is not None
    assert body.get_content().strip() == "plain body"
    assert html is not None
    assert "html body" in html.get_content()
    files = {part.get_filename(): part for part in parsed.walk() if part.get_filename()}
    assert files["notes.txt"].get_content() == "attached bytes"
    assert files["logo.png"].get_payload(decode=True) == PNG
    assert files["logo.png"]["Content-ID"] == "<logo>"


async def test_attachment_from_path_reads_the_file(tmp_path: Path) -> None:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(b"%PDF-1.4 fake")
    attachment = await hub.Attachment.from_path(source)
    assert (attachment.filename, attachment.content_type) == ("invoice.pdf", "application/pdf")
    assert "fake" not in repr(attachment.model_dump())  # bytes are summarized, not dumped


async def test_a_feature_the_provider_lacks_is_refused_before_sending(tmp_path: Path) -> None:
    registry = discover(include_installed=False)
    spec = registry.providers[("email", "fake")]
    registry.providers[("email", "plain")] = ProviderSpec(
        "email", "plain", spec.factory, spec.settings_model, features=frozenset()
    )
    settings = hub.HubSettings.load(
        env="test", data_dir=tmp_path, email={"provider": "plain", "default_from": "s@example.com"}
    )
    async with hub.Hub(settings, registry=registry) as h:
        with pytest.raises(hub.UnsupportedFeature, match="attachments") as info:
            await h.email.send(
                to="a@example.com",
                text="x",
                attachments=[hub.Attachment(filename="a.txt", content=b"a")],
            )
        assert info.value.provider == "plain"
        assert h.email.outbox == []


async def test_a_chain_routes_around_a_provider_lacking_a_feature(tmp_path: Path) -> None:
    registry = discover(include_installed=False)
    spec = registry.providers[("email", "fake")]
    registry.providers[("email", "plain")] = ProviderSpec(
        "email", "plain", spec.factory, spec.settings_model, features=frozenset()
    )
    settings = hub.HubSettings.load(
        env="test",
        data_dir=tmp_path,
        email={"providers": ["plain", "fake"], "default_from": "s@example.com"},
    )
    async with hub.Hub(settings, registry=registry) as h:
        receipt = await h.email.send(to="a@example.com", text="x", template_id="welcome")
        assert receipt.provider == "fake"


async def test_module_level_default_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HUB_ENV", "test")
    monkeypatch.setenv("HUB_EMAIL__DEFAULT_FROM", "shop@example.com")
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    await hub.aclose()
    try:
        receipt = await hub.email.send(to="ada@example.com", subject="Hi", text="Hello")
        assert receipt.provider == "fake"
        assert hub.email.outbox[0].subject == "Hi"
    finally:
        await hub.aclose()


# -- send_many through a vendor batch API: one key per message -----------------------------


def _fake_email_hub(tmp_path: Path, *, vendor_idempotency: bool) -> hub.Hub:
    """The fake email provider, declaring vendor idempotency or (like SendGrid) not."""
    registry = discover(include_installed=False)
    spec = registry.providers[("email", "fake")]
    features = spec.features if vendor_idempotency else spec.features - {"idempotency"}
    registry.providers[("email", "fake")] = dataclasses.replace(spec, features=features)
    settings = hub.HubSettings.load(
        env="test", data_dir=tmp_path, email={"default_from": "shop@example.com"}
    )
    return hub.Hub(settings, registry=registry)


def _fake_email(h: hub.Hub) -> FakeEmailProvider:
    provider = h.email.provider
    assert isinstance(provider, FakeEmailProvider)
    return provider


def _forget(fake: FakeEmailProvider) -> None:
    """Make the fake behave like a vendor without idempotency: it dedupes nothing."""
    fake.receipts.clear()


MESSAGES = [{"to": f"user{n}@example.com", "text": f"hello {n}"} for n in range(3)]
KEYS = ["order-1", "order-2", "order-3"]


@pytest.mark.parametrize("vendor_idempotency", [True, False])
async def test_a_repeated_batch_sends_each_message_once(
    tmp_path: Path, vendor_idempotency: bool
) -> None:
    async with _fake_email_hub(tmp_path, vendor_idempotency=vendor_idempotency) as h:
        fake = _fake_email(h)
        first = await h.email.send_many(MESSAGES, idempotency_keys=KEYS)
        if not vendor_idempotency:
            _forget(fake)
        again = await h.email.send_many(MESSAGES, idempotency_keys=KEYS)
        single = await h.email.send(**MESSAGES[1], idempotency_key="order-2")
        assert [r.receipt for r in again] == [r.receipt for r in first]
        assert single == first[1].receipt
        assert [m.text for m in h.email.outbox] == ["hello 0", "hello 1", "hello 2"]
        if not vendor_idempotency:  # the hub answered from its own records
            assert fake.faults.calls == ["send_many"]


async def test_a_batch_replays_keys_a_single_send_used_and_sends_only_the_rest(
    tmp_path: Path,
) -> None:
    async with _fake_email_hub(tmp_path, vendor_idempotency=False) as h:
        fake = _fake_email(h)
        earlier = await h.email.send(**MESSAGES[0], idempotency_key="order-1")
        _forget(fake)
        results = await h.email.send_many(MESSAGES, idempotency_keys=KEYS)
        assert results[0].receipt == earlier
        assert [r.ok for r in results] == [True, True, True]
        assert [m.text for m in h.email.outbox] == ["hello 0", "hello 1", "hello 2"]
        assert fake.faults.calls == ["send", "send_many"]


async def test_a_failed_batch_remembers_nothing_so_a_repeat_sends(tmp_path: Path) -> None:
    async with _fake_email_hub(tmp_path, vendor_idempotency=False) as h:
        fake = _fake_email(h)
        fake.fail_next(1, hub.AuthenticationError("injected: bad key", provider="fake"))
        failed = await h.email.send_many(MESSAGES, idempotency_keys=KEYS)
        assert [type(r.error) for r in failed] == [hub.AuthenticationError] * 3
        retried = await h.email.send_many(MESSAGES, idempotency_keys=KEYS)
        assert [r.ok for r in retried] == [True, True, True]
        assert len(h.email.outbox) == 3


async def test_concurrent_batches_with_the_same_keys_send_once(tmp_path: Path) -> None:
    async with _fake_email_hub(tmp_path, vendor_idempotency=False) as h:
        fake = _fake_email(h)
        fake.faults.latency = 0.05  # the second batch starts while the first is in flight
        outcomes: list[list[hub.SendResult[hub.EmailReceipt]]] = []

        async def batch() -> None:
            outcomes.append(await h.email.send_many(MESSAGES, idempotency_keys=KEYS))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(batch)
            tasks.start_soon(batch)
        assert [r.receipt for r in outcomes[0]] == [r.receipt for r in outcomes[1]]
        assert len(h.email.outbox) == 3
        assert fake.faults.calls == ["send_many"]


async def test_one_key_per_message_in_a_batch(tmp_path: Path) -> None:
    async with _fake_email_hub(tmp_path, vendor_idempotency=False) as h:
        with pytest.raises(hub.InvalidRequest, match="messages 0 and 2") as info:
            await h.email.send_many(MESSAGES, idempotency_keys=["a", "b", "a"])
        assert info.value.field == "idempotency_keys"
        assert h.email.outbox == []


# -- send_chunks: the vendor batch loop of SendGrid, Postmark and Mailgun ------------------


def _sent(chunk: Sequence[tuple[int, str]]) -> list[str | HubError]:
    return [f"sent {item}" for _, item in chunk]


async def test_send_chunks_raises_a_retryable_error_while_nothing_was_sent() -> None:
    calls: list[list[int]] = []

    async def post(chunk: Sequence[tuple[int, str]]) -> list[str | HubError]:
        calls.append([index for index, _ in chunk])
        raise hub.Unavailable("down", provider="vendor")

    with pytest.raises(hub.Unavailable):
        await send_chunks([[(0, "a")], [(1, "b")]], post)
    assert calls == [[0]]  # the pipeline repeats the whole batch: nothing went out


async def test_send_chunks_fails_only_the_chunk_once_something_was_sent() -> None:
    invalid = hub.InvalidRequest("bad", field="to")
    down = hub.Unavailable("down", provider="vendor")
    answers: list[Exception | None] = [invalid, None, down, None]

    async def post(chunk: Sequence[tuple[int, str]]) -> list[str | HubError]:
        error = answers.pop(0)
        if error is not None:
            raise error
        return _sent(chunk)

    refused = hub.InvalidRequest("no recipient", field="to")
    chunks = [[(0, "a")], [(1, "b"), (3, "d")], [(4, "e")], [(5, "f")]]
    outcomes = await send_chunks(chunks, post, refused={2: refused})
    # A non-retryable refusal of the first request is its messages' result; the others go on.
    assert outcomes == [invalid, "sent b", refused, "sent d", down, "sent f"]


async def test_send_chunks_goes_concurrently_after_the_first_success() -> None:
    in_flight = peak = 0

    async def post(chunk: Sequence[tuple[int, str]]) -> list[str | HubError]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return _sent(chunk)

    chunks = [[(n, str(n))] for n in range(7)]
    outcomes = await send_chunks(chunks, post, concurrency=3)
    assert outcomes == [f"sent {n}" for n in range(7)]
    assert peak == 3
