"""Email through its facade on the local and fake providers: validation, MIME, batches."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage as MimeMessage
from pathlib import Path

import anyio
import pytest

import hub
from hub.plugins import ProviderSpec, discover

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(params=["local", "fake"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[hub.Hub]:
    env = "development" if request.param == "local" else "test"
    settings = hub.HubSettings.load(
        env=env, data_dir=tmp_path, email={"default_from": "Shop <shop@example.com>"}
    )
    async with hub.Hub(settings) as instance:
        yield instance


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
    h: hub.Hub, fields: dict[str, object], fragment: str
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
        [path] = h.email.outbox
    raw = await anyio.Path(path).read_bytes()
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
