"""The SMTP provider against a real aiosmtpd server: every MIME field, TLS, AUTH, reuse, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.headerregistry import Address as MimeAddress
from typing import Any, cast

import pytest
from hub_smtp.provider import SmtpProvider

from hub import Hub
from hub.capabilities.email import Attachment, EmailMessage
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    Unavailable,
    UnsupportedFeature,
)
from tests.plugins.smtp.conftest import PASSWORD, USERNAME, Server, TlsFiles, free_port

pytestmark = pytest.mark.anyio

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(200))
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
SUBJECT = "Grüße aus Köln — ☕ a subject long enough that the header has to be folded twice over"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiosmtplib runs on asyncio only


def smtp_hub(make_hub: Callable[..., Hub], settings: dict[str, Any], **email: Any) -> Hub:
    section = {
        "provider": "smtp",
        "providers": ["smtp"],
        "smtp": settings,
        "default_from": "Hub Tests <tests@example.com>",
        "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        **email,
    }
    return make_hub(email=section, state={"url": "memory://"})


def smtp_provider(hub: Hub) -> SmtpProvider:
    return cast(SmtpProvider, hub.email.get_provider("smtp"))


def addresses(header: Any) -> list[tuple[str, str]]:
    found: list[MimeAddress] = list(header.addresses)
    return [(a.display_name, a.addr_spec) for a in found]


def full_message() -> EmailMessage:
    return EmailMessage.model_validate(
        {
            "from": "Zoë Ångström <zoe@example.com>",
            "to": ["Ada Lovelace <ada@example.com>", "José Núñez <jose@example.com>"],
            "cc": [{"email": "grace@example.com", "name": 'Grace "Amazing" Hopper, Jr.'}],
            "bcc": ["hidden@example.com"],
            "reply_to": ["Support Désk <support@example.com>"],
            "subject": SUBJECT,
            "text": "Hällo in plain text.\nSecond line.\n",
            "html": '<p>Hällo <b>html</b> <img src="cid:logo"></p>\n',
            "attachments": [
                Attachment(filename="report.pdf", content=PDF, content_type="application/pdf"),
                Attachment(filename="logo.png", content=PNG, inline=True, content_id="logo"),
            ],
            "headers": {"X-Campaign": "spring-2024", "List-Unsubscribe": "<mailto:u@example.com>"},
            "tags": ["welcome", "onboarding"],
            "metadata": {"user_id": "42", "plan": "pro"},
        }
    )


async def test_every_field_arrives_in_the_mime(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    message = full_message()
    async with smtp_hub(make_hub, server.settings()) as hub:
        receipt = await hub.email.send(message)

    assert len(server.received) == 1
    got = server.received[0]
    parsed = got.parsed()
    # Envelope: the bare sender, and every recipient including the blind copy.
    assert got.mail_from == "zoe@example.com"
    assert sorted(got.rcpt_tos) == sorted(
        ["ada@example.com", "jose@example.com", "grace@example.com", "hidden@example.com"]
    )
    # Addresses with their unicode display names.
    assert addresses(parsed["From"]) == [("Zoë Ångström", "zoe@example.com")]
    assert addresses(parsed["To"]) == [
        ("Ada Lovelace", "ada@example.com"),
        ("José Núñez", "jose@example.com"),
    ]
    assert addresses(parsed["Cc"]) == [('Grace "Amazing" Hopper, Jr.', "grace@example.com")]
    assert addresses(parsed["Reply-To"]) == [("Support Désk", "support@example.com")]
    # Bcc only in the envelope.
    assert "Bcc" not in parsed
    assert b"hidden@example.com" not in got.content
    # The server offers no SMTPUTF8, so the header block must be pure ASCII (RFC 2047 words).
    header_block = got.content.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii()
    assert "SMTPUTF8" not in got.mail_options
    assert parsed["Subject"] == SUBJECT
    assert parsed["Message-ID"] == f"<{receipt.provider_id}>"
    # Text and HTML alternatives, sent as 8-bit UTF-8 (the server offers 8BITMIME); lines
    # end in CRLF on the wire, which the parser keeps for 8-bit parts.
    assert "BODY=8BITMIME" in got.mail_options
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None
    assert plain["Content-Transfer-Encoding"] == "8bit"
    assert plain.get_content().replace("\r\n", "\n") == message.text
    assert html is not None
    assert html.get_content().replace("\r\n", "\n") == message.html
    # The attachment, byte for byte.
    attachments = list(parsed.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("report.pdf", "application/pdf")
    ]
    assert attachments[0].get_content() == PDF
    # The inline image, next to the HTML it belongs to, with its Content-ID.
    inline = [p for p in parsed.walk() if p["Content-ID"] == "<logo>"]
    assert len(inline) == 1
    assert inline[0].get_content_type() == "image/png"
    assert inline[0].get_content_disposition() == "inline"
    assert inline[0].get_content() == PNG
    related = [p for p in parsed.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    assert [p.get_content_type() for p in related[0].iter_parts()] == ["text/html", "image/png"]
    # Custom headers, tags and metadata.
    assert parsed["X-Campaign"] == "spring-2024"
    assert parsed["List-Unsubscribe"] == "<mailto:u@example.com>"
    assert parsed["X-Tags"] == "welcome, onboarding"
    assert json.loads(str(parsed["X-Metadata"])) == {"user_id": "42", "plan": "pro"}
    # The receipt: one status per recipient, the server's reply attached.
    assert {r.email: r.status for r in receipt.recipients} == {
        "ada@example.com": "sent",
        "jose@example.com": "sent",
        "grace@example.com": "sent",
        "hidden@example.com": "sent",
    }
    assert receipt.raw["reply"] == "250 2.0.0 Ok: queued as HUB1"


async def test_one_connection_carries_every_send(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    async with smtp_hub(make_hub, server.settings()) as hub:
        for n in range(3):
            await hub.email.send(to="ada@example.com", subject=f"one {n}", text="hi")
        results = await hub.email.send_many(
            [{"to": f"user{n}@example.com", "subject": f"many {n}", "text": "hi"} for n in range(5)]
        )
        assert all(r.ok for r in results)
        provider = smtp_provider(hub)
        assert provider.connections_opened == 1
        reused = [r.receipt.raw["connection_reused"] for r in results if r.receipt is not None]
        assert reused == [True] * 5
    assert len(server.received) == 8
    assert len(server.handler.peers) == 1, "every message must travel on the same connection"


async def test_a_dropped_connection_is_replaced(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    async with smtp_hub(make_hub, server.settings()) as hub:
        await hub.email.send(to="ada@example.com", subject="first", text="hi")
        # The server closes an idle session with 421 at the next command.
        server.handler.mail_replies.append("421 4.4.2 smtp.hub.test Error: timeout exceeded")
        receipt = await hub.email.send(to="ada@example.com", subject="second", text="hi")
        assert receipt.raw["connection_reused"] is False
        assert smtp_provider(hub).connections_opened == 2
    assert [m.parsed()["Subject"] for m in server.received] == ["first", "second"]


async def test_a_restarted_server_is_reconnected(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    async with smtp_hub(make_hub, server.settings()) as hub:
        await hub.email.send(to="ada@example.com", subject="before", text="hi")
        server.restart()
        await hub.email.send(to="ada@example.com", subject="after", text="hi")
        assert smtp_provider(hub).connections_opened == 2
    assert [m.parsed()["Subject"] for m in server.received] == ["before", "after"]


async def test_a_refused_recipient_is_rejected_and_the_others_sent(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    server.handler.refuse["nobody@example.com"] = (
        "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
    )
    server.handler.refuse["busy@example.com"] = "450 4.2.1 Mailbox busy, try again later"
    async with smtp_hub(make_hub, server.settings()) as hub:
        receipt = await hub.email.send(
            to=["ada@example.com", "nobody@example.com"],
            cc="busy@example.com",
            bcc="grace@example.com",
            subject="partly",
            text="hi",
        )
    statuses = {r.email: (r.status, r.reason) for r in receipt.recipients}
    assert statuses["ada@example.com"] == ("sent", None)
    assert statuses["grace@example.com"] == ("sent", None)
    assert statuses["nobody@example.com"][0] == "rejected"
    assert "550 5.1.1" in str(statuses["nobody@example.com"][1])
    assert "User unknown" in str(statuses["nobody@example.com"][1])
    assert statuses["busy@example.com"][0] == "failed"
    assert str(statuses["busy@example.com"][1]).startswith("450 4.2.1")
    assert sorted(server.received[0].rcpt_tos) == ["ada@example.com", "grace@example.com"]
    assert set(receipt.raw["refused"]) == {"nobody@example.com", "busy@example.com"}


async def test_every_recipient_refused_is_an_invalid_request(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    server.handler.refuse["nobody@example.com"] = "550 5.1.1 User unknown"
    async with smtp_hub(make_hub, server.settings()) as hub:
        with pytest.raises(InvalidRequest) as caught:
            await hub.email.send(to="nobody@example.com", subject="x", text="hi")
        assert caught.value.field == "to"
        assert caught.value.raw["refused"] == {"nobody@example.com": "550 5.1.1 User unknown"}
        # The connection was reset and still carries the next message.
        await hub.email.send(to="ada@example.com", subject="next", text="hi")
        assert smtp_provider(hub).connections_opened == 1
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("reply", "error", "retryable"),
    [
        ("451 4.7.1 Rate limit exceeded, slow down", RateLimited, True),
        ("452 4.3.1 Insufficient system storage", Unavailable, True),
        ("421 4.3.2 Service not available, closing transmission channel", Unavailable, True),
        ("530 5.7.0 Authentication required", AuthenticationError, False),
        ("553 5.7.1 Sender address rejected: not owned by user", InvalidRequest, False),
    ],
)
async def test_mail_replies_map_to_the_error_tree(
    smtp_server: Callable[..., Server],
    make_hub: Callable[..., Hub],
    reply: str,
    error: type[HubError],
    retryable: bool,
) -> None:
    server = smtp_server()
    server.handler.mail_reply = reply
    async with smtp_hub(make_hub, server.settings()) as hub:
        with pytest.raises(error) as caught:
            await hub.email.send(to="ada@example.com", subject="x", text="hi")
    assert type(caught.value) is error
    assert caught.value.retryable is retryable
    assert getattr(caught.value, "provider", None) == "smtp"
    assert reply.split()[0] in str(caught.value)
    if isinstance(caught.value, InvalidRequest):
        assert caught.value.field == "from"
    else:
        assert isinstance(caught.value, ProviderError)
        assert caught.value.status == int(reply[:3])
        assert caught.value.failover_safe is True  # refused before DATA: nothing was sent


async def test_refused_content_is_an_invalid_request(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    server.handler.data_reply = "554 5.7.1 Message rejected: spam detected"
    async with smtp_hub(make_hub, server.settings()) as hub:
        with pytest.raises(InvalidRequest, match="spam detected") as caught:
            await hub.email.send(to="ada@example.com", subject="x", text="hi")
    assert caught.value.vendor_code == "554"
    assert caught.value.raw["stage"] == "data"


async def test_auth_succeeds_with_the_right_password(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server(auth=True, auth_required=False)
    settings = server.settings(username=USERNAME, password=PASSWORD)
    async with smtp_hub(make_hub, settings) as hub:
        receipt = await hub.email.send(to="ada@example.com", subject="authed", text="hi")
    assert receipt.recipients[0].status == "sent"
    assert len(server.received) == 1


async def test_a_wrong_password_is_an_authentication_error(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server(auth=True, auth_required=False)
    settings = server.settings(username=USERNAME, password="not-the-password-123")
    async with smtp_hub(make_hub, settings) as hub:
        with pytest.raises(AuthenticationError) as caught:
            await hub.email.send(to="ada@example.com", subject="x", text="hi")
    error = caught.value
    assert error.status == 535
    assert error.retryable is False
    assert error.failover_safe is True
    assert "not-the-password-123" not in f"{error} {error!r} {error.raw}"
    assert server.received == []


async def test_starttls_with_a_ca_file_and_auth(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub], tls_files: TlsFiles
) -> None:
    server = smtp_server(starttls=tls_files.server_context(), auth=True, auth_required=True)
    settings = server.settings(
        security="starttls", ca_file=str(tls_files.cert), username=USERNAME, password=PASSWORD
    )
    async with smtp_hub(make_hub, settings) as hub:
        await hub.email.send(to="ada@example.com", subject="over starttls", text="hi")
    assert [m.parsed()["Subject"] for m in server.received] == ["over starttls"]


async def test_starttls_refuses_an_unknown_certificate(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub], tls_files: TlsFiles
) -> None:
    server = smtp_server(starttls=tls_files.server_context())
    async with smtp_hub(make_hub, server.settings(security="starttls")) as hub:
        with pytest.raises(ProviderError, match="ca_file") as caught:
            await hub.email.send(to="ada@example.com", subject="x", text="hi")
    assert caught.value.retryable is False
    assert server.received == []


async def test_implicit_tls(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub], tls_files: TlsFiles
) -> None:
    server = smtp_server(tls=tls_files.server_context())
    settings = server.settings(security="tls", validate_certs=False)
    async with smtp_hub(make_hub, settings) as hub:
        await hub.email.send(to="ada@example.com", subject="over tls", text="hi")
        await hub.email.send(to="ada@example.com", subject="again", text="hi")
        assert smtp_provider(hub).connections_opened == 1
    assert [m.parsed()["Subject"] for m in server.received] == ["over tls", "again"]


async def test_plain_text_to_a_server_requiring_starttls_is_refused(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub], tls_files: TlsFiles
) -> None:
    server = smtp_server(starttls=tls_files.server_context())
    async with smtp_hub(make_hub, server.settings(security="none")) as hub:
        with pytest.raises(AuthenticationError, match="530"):
            await hub.email.send(to="ada@example.com", subject="x", text="hi")


async def test_server_down_is_unavailable_and_safe_to_fail_over(
    make_hub: Callable[..., Hub],
) -> None:
    settings = {"host": "127.0.0.1", "port": free_port(), "security": "none", "timeout": 2}
    async with smtp_hub(make_hub, settings) as hub:
        with pytest.raises(Unavailable) as caught:
            await hub.email.send(to="ada@example.com", subject="x", text="hi")
    assert caught.value.retryable is True
    assert caught.value.failover_safe is True
    assert "nothing was sent" in str(caught.value)


async def test_server_down_fails_over_to_the_next_provider(
    make_hub: Callable[..., Hub],
) -> None:
    settings = {"host": "127.0.0.1", "port": free_port(), "security": "none", "timeout": 2}
    hub = make_hub(
        email={
            "providers": ["smtp", "fake"],
            "smtp": settings,
            "default_from": "tests@example.com",
            "resilience": {"retry": {"attempts": 1}},
        },
        state={"url": "memory://"},
    )
    receipt = await hub.email.send(to="ada@example.com", subject="x", text="hi")
    assert receipt.provider == "fake"


@pytest.mark.parametrize(
    ("fields", "feature"),
    [
        ({"template_id": "welcome", "text": None}, "templates"),
        ({"send_at": "2030-01-01T00:00:00Z"}, "scheduled_send"),
    ],
)
async def test_what_smtp_cannot_do_is_unsupported(
    smtp_server: Callable[..., Server],
    make_hub: Callable[..., Hub],
    fields: dict[str, Any],
    feature: str,
) -> None:
    server = smtp_server()
    async with smtp_hub(make_hub, server.settings()) as hub:
        with pytest.raises(UnsupportedFeature) as caught:
            await hub.email.send(
                **{"to": "ada@example.com", "subject": "x", "text": "hi", **fields}
            )
    assert caught.value.feature == feature
    assert server.received == []


async def test_a_custom_header_clashing_with_a_field_is_refused(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    async with smtp_hub(make_hub, server.settings()) as hub:
        with pytest.raises(InvalidRequest) as caught:
            await hub.email.send(
                to="ada@example.com", subject="x", text="hi", headers={"Subject": "other"}
            )
    assert caught.value.field == "headers.Subject"
    assert server.received == []


async def test_secrets_stay_out_of_reprs(make_hub: Callable[..., Hub]) -> None:
    settings = {"host": "127.0.0.1", "port": 2525, "username": "u", "password": "s3cret-pass!"}
    hub = smtp_hub(make_hub, settings)
    provider = smtp_provider(hub)
    assert "s3cret-pass!" not in repr(provider)
    assert "s3cret-pass!" not in repr(provider.settings)


async def test_an_internationalized_address_uses_smtputf8(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server(enable_SMTPUTF8=True)
    async with smtp_hub(make_hub, server.settings()) as hub:
        await hub.email.send(to="Zoë <zoë@example.com>", subject="Grüße", text="hi")
    [got] = server.received
    assert "SMTPUTF8" in got.mail_options
    assert got.rcpt_tos == ["zoë@example.com"]
    # Under SMTPUTF8 the header carries the mailbox and the name as UTF-8, unencoded.
    assert "\r\nTo: Zoë <zoë@example.com>\r\n".encode() in got.content


async def test_an_internationalized_address_needs_a_server_with_smtputf8(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server(enable_SMTPUTF8=False)
    async with smtp_hub(make_hub, server.settings()) as hub:
        with pytest.raises(InvalidRequest, match="SMTPUTF8") as caught:
            await hub.email.send(to="zoë@example.com", subject="x", text="hi")
        assert caught.value.field == "to"
        await hub.email.send(to="ada@example.com", subject="still fine", text="hi")
        assert smtp_provider(hub).connections_opened == 1
    assert [m.rcpt_tos for m in server.received] == [["ada@example.com"]]


async def test_a_send_cut_short_by_the_deadline_drops_the_connection(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server()
    server.handler.data_delay = 2.0
    resilience = {
        "retry": {"attempts": 1},
        "circuit_breaker": {"enabled": False},
        "timeout": {"attempt": 0.3, "total": 1},
    }
    async with smtp_hub(make_hub, server.settings(), resilience=resilience) as hub:
        with pytest.raises(HubError):
            await hub.email.send(to="ada@example.com", subject="slow", text="hi")
        server.handler.data_delay = 0.0
        await hub.email.send(to="ada@example.com", subject="next", text="hi")
        assert smtp_provider(hub).connections_opened == 2
    assert "next" in [m.parsed()["Subject"] for m in server.received]


async def test_an_idn_domain_travels_as_punycode_without_smtputf8(
    smtp_server: Callable[..., Server], make_hub: Callable[..., Hub]
) -> None:
    server = smtp_server(enable_SMTPUTF8=False)
    async with smtp_hub(make_hub, server.settings()) as hub:
        receipt = await hub.email.send(to="Jürgen <j@bücher.example>", subject="x", text="hi")
    [got] = server.received
    assert got.rcpt_tos == ["j@xn--bcher-kva.example"]
    assert addresses(got.parsed()["To"]) == [("Jürgen", "j@xn--bcher-kva.example")]
    assert [(r.email, r.status) for r in receipt.recipients] == [("j@bücher.example", "sent")]
