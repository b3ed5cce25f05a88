"""The whole EmailMessage becomes exactly the Messages API request Mailgun documents."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hub.capabilities.email import Attachment, EmailMessage
from hub.core import Hub
from hub.errors import InvalidRequest
from tests.plugins.mailgun.conftest import API_KEY, EU_URL, US_URL, FakeMailgun

pytestmark = pytest.mark.anyio

PNG = bytes.fromhex("89504e470d0a1a0a") + bytes(range(120))
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


def message(**fields: Any) -> EmailMessage:
    data: dict[str, Any] = {
        "from": "Shop <shop@mg.example.com>",
        "to": ["ada@example.com"],
        "subject": "Hello",
        "text": "Hi there",
        **fields,
    }
    return EmailMessage.model_validate(data)


async def test_every_field_is_sent(vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]) -> None:
    hub = mailgun_hub()
    msg = message(
        **{
            "from": "Zoë Ångström <zoe@mg.example.com>",
            "to": ["Ada Lovelace <ada@example.com>", "jose@example.com"],
            "cc": [{"email": "grace@example.com", "name": 'Grace "Amazing" Hopper'}],
            "bcc": ["hidden@example.com"],
            "reply_to": ["Support <support@example.com>", "ops@example.com"],
            "subject": "Grüße ☕",
            "text": "Hällo text",
            "html": '<p>Hällo <img src="cid:logo.png"></p>',
            "attachments": [
                Attachment(filename="report.pdf", content=PDF, content_type="application/pdf"),
                Attachment(filename="logo.png", content=PNG, inline=True),
            ],
            "headers": {"X-Campaign": "spring", "List-Unsubscribe": "<mailto:u@example.com>"},
            "tags": ["welcome", "onboarding"],
            "metadata": {"user_id": "42", "plan": "pro"},
            "send_at": datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "provider_options": {
                "mailgun": {"o:tracking": True, "o:testmode": "yes"},
                "sendgrid": {"ignored": "by mailgun"},
            },
        }
    )
    receipt = await hub.email.send(msg)

    [request] = vendor.requests
    assert str(request.url) == US_URL
    expected_auth = base64.b64encode(f"api:{API_KEY}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    assert "idempotency-key" not in request.headers  # Mailgun has none: the hub remembers keys
    [form] = vendor.forms
    assert form.content_type == "multipart"
    assert form.one("from") == '"Zoë Ångström" <zoe@mg.example.com>'
    assert form.all("to") == ['"Ada Lovelace" <ada@example.com>', "jose@example.com"]
    assert form.all("cc") == ['"Grace \\"Amazing\\" Hopper" <grace@example.com>']
    assert form.all("bcc") == ["hidden@example.com"]
    assert form.one("h:Reply-To") == '"Support" <support@example.com>, ops@example.com'
    assert form.one("subject") == "Grüße ☕"
    assert form.one("text") == "Hällo text"
    assert form.one("html") == '<p>Hällo <img src="cid:logo.png"></p>'
    assert form.one("h:X-Campaign") == "spring"
    assert form.one("h:List-Unsubscribe") == "<mailto:u@example.com>"
    assert form.all("o:tag") == ["welcome", "onboarding"]
    assert form.one("v:user_id") == "42"
    assert form.one("v:plan") == "pro"
    assert form.one("o:deliverytime") == "Wed, 02 Jan 2030 01:04:05 +0000"
    assert form.one("o:tracking") == "yes"
    assert form.one("o:testmode") == "yes"
    assert "ignored" not in form.names()
    assert [(f.name, f.filename, f.content_type) for f in form.files] == [
        ("attachment", "report.pdf", "application/pdf"),
        ("inline", "logo.png", "image/png"),
    ]
    assert form.files[0].content == PDF
    assert form.files[1].content == PNG
    # Every field accounted for: nothing sent that the message did not ask for.
    assert form.names() == {
        "from", "to", "cc", "bcc", "h:Reply-To", "subject", "text", "html", "h:X-Campaign",
        "h:List-Unsubscribe", "o:tag", "v:user_id", "v:plan", "o:deliverytime", "o:tracking",
        "o:testmode",
    }  # fmt: skip
    assert receipt.provider_id == "20240501120000.1.A1B2C3D4E5F6@mg.example.com"
    assert {r.email: r.status for r in receipt.recipients} == {
        "ada@example.com": "queued",
        "jose@example.com": "queued",
        "grace@example.com": "queued",
        "hidden@example.com": "queued",
    }
    assert receipt.raw["response"]["message"] == "Queued. Thank you."


async def test_a_message_without_files_is_urlencoded(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    await mailgun_hub().email.send(message(to=["a@example.com", "b@example.com"]))
    [form] = vendor.forms
    assert form.content_type == "urlencoded"
    assert form.fields == [
        ("from", '"Shop" <shop@mg.example.com>'),
        ("to", "a@example.com"),
        ("to", "b@example.com"),
        ("subject", "Hello"),
        ("text", "Hi there"),
    ]


async def test_the_eu_region_and_a_base_url(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    await mailgun_hub(region="eu").email.send(message())
    await mailgun_hub(base_url="https://mailgun-proxy.internal/v3").email.send(message())
    assert [str(r.url) for r in vendor.requests] == [
        EU_URL,
        "https://mailgun-proxy.internal/v3/mg.example.com/messages",
    ]


async def test_a_stored_template_with_its_variables(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    msg = message(text=None, template_id="welcome-v2", template_data={"name": "Ada", "n": 3})
    await mailgun_hub().email.send(msg)
    [form] = vendor.forms
    assert form.one("template") == "welcome-v2"
    assert json.loads(form.one("t:variables")) == {"name": "Ada", "n": 3}
    assert "text" not in form.names()


async def test_substitution_data_for_one_recipient_uses_recipient_variables(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    msg = message(text="Hi %recipient.name%", template_data={"name": "Ada"})
    await mailgun_hub().email.send(msg)
    [form] = vendor.forms
    assert json.loads(form.one("recipient-variables")) == {"ada@example.com": {"name": "Ada"}}


async def test_an_inline_image_is_uploaded_under_its_content_id(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    logo = Attachment(filename="logo.png", content=PNG, inline=True, content_id="brand-logo")
    await mailgun_hub().email.send(message(html='<img src="cid:brand-logo">', attachments=[logo]))
    [form] = vendor.forms
    assert [(f.name, f.filename, f.content_type) for f in form.files] == [
        ("inline", "brand-logo", "image/png")
    ]


async def test_the_multipart_body_is_the_same_for_the_same_message(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    """A content-derived boundary keeps recordings of the same message byte-for-byte equal."""
    hub = mailgun_hub()
    msg = message(attachments=[Attachment(filename="a.txt", content=b"same bytes")])
    await hub.email.send(msg)
    await hub.email.send(msg)
    first, second = vendor.requests
    assert first.headers["content-type"] == second.headers["content-type"]
    assert first.content == second.content


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tags": ["a", "b", "c", "d"]}, "tags"),
        ({"headers": {"Subject": "other"}}, "headers.Subject"),
        ({"headers": {"To": "x@example.com"}}, "headers.To"),
        (
            {"reply_to": ["r@example.com"], "headers": {"Reply-To": "s@example.com"}},
            "headers.Reply-To",
        ),
        (
            {"attachments": [Attachment(filename="a.txt", content=b"x", content_id="a1")]},
            "attachments[0].content_id",
        ),
        (
            {"to": ["a@example.com", "b@example.com"], "template_data": {"name": "Ada"}},
            "template_data",
        ),
        (
            {"provider_options": {"mailgun": {"subject": "twice"}}},
            "provider_options.mailgun.subject",
        ),
        (
            {"provider_options": {"mailgun": {"o:tracking": {"x": 1}}}},
            "provider_options.mailgun.o:tracking",
        ),
    ],
    ids=[
        "four-tags",
        "subject-header",
        "to-header",
        "reply-to-twice",
        "attachment-content-id",
        "substitution-for-many",
        "option-repeats-field",
        "option-not-a-value",
    ],
)  # fmt: skip
async def test_what_mailgun_cannot_express_is_refused_by_name(
    vendor: FakeMailgun,
    mailgun_hub: Callable[..., Hub],
    fields: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await mailgun_hub().email.send(message(**fields))
    assert caught.value.field == field
    assert vendor.requests == [], "nothing may be sent when a field cannot be expressed"


async def test_a_naive_send_at_is_taken_as_utc(
    vendor: FakeMailgun, mailgun_hub: Callable[..., Hub]
) -> None:
    await mailgun_hub().email.send(message(send_at=datetime(2030, 5, 6, 7, 8, 9)))
    assert vendor.forms[0].one("o:deliverytime") == "Mon, 06 May 2030 07:08:09 +0000"
    assert datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC).weekday() == 0
