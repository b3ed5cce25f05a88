"""The exact request Postmark gets for a message, and the fields it cannot take."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.capabilities.email import Attachment, EmailMessage
from hub.core import Hub
from hub.errors import InvalidRequest, UnsupportedFeature
from tests.plugins.postmark.conftest import API, TOKEN, FakePostmark

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def full_message(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "from": "Shop Ünïcode <shop@example.com>",
        "to": ["Ada Lovelace <ada@example.com>", "grace@example.com"],
        "cc": [{"email": "edsger@example.com", "name": 'Edsger "EWD", W.'}],
        "bcc": ["audit@example.com"],
        "reply_to": ["Support <support@example.com>", "help@example.com"],
        "subject": "Your order Ω-42",
        "text": "Thanks for your order.",
        "html": "<p>Thanks!</p><img src='cid:logo'>",
        "attachments": [
            Attachment(filename="invoice.pdf", content=b"%PDF-1.4 fake"),
            Attachment(
                filename="logo.png", content=b"\x89PNG fake", inline=True, content_id="logo"
            ),
        ],
        "headers": {"X-Order-Id": "42"},
        "tags": ["receipts"],
        "metadata": {"order_id": "42", "customer": "c_7"},
        "provider_options": {
            "postmark": {"TrackOpens": True, "TrackLinks": "HtmlOnly"},
            "sendgrid": {"asm": {"group_id": 7}},
        },
    }
    fields.update(overrides)
    return EmailMessage.model_validate(fields)


async def test_every_field_of_a_message_reaches_postmark(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub(message_stream="transactional")
    await hub.email.send(full_message())

    [request] = vendor.requests
    assert request.method == "POST"
    assert str(request.url) == f"{API}/email"
    assert request.headers["x-postmark-server-token"] == TOKEN
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert "idempotency-key" not in request.headers  # Postmark has no idempotency key
    assert vendor.bodies[0] == {
        "From": '"Shop Ünïcode" <shop@example.com>',
        "To": '"Ada Lovelace" <ada@example.com>, grace@example.com',
        "Cc": '"Edsger \\"EWD\\", W." <edsger@example.com>',
        "Bcc": "audit@example.com",
        "ReplyTo": '"Support" <support@example.com>, help@example.com',
        "Subject": "Your order Ω-42",
        "HtmlBody": "<p>Thanks!</p><img src='cid:logo'>",
        "TextBody": "Thanks for your order.",
        "Headers": [{"Name": "X-Order-Id", "Value": "42"}],
        "Tag": "receipts",
        "Metadata": {"order_id": "42", "customer": "c_7"},
        "Attachments": [
            {
                "Name": "invoice.pdf",
                "Content": base64.b64encode(b"%PDF-1.4 fake").decode(),
                "ContentType": "application/pdf",
            },
            {
                "Name": "logo.png",
                "Content": base64.b64encode(b"\x89PNG fake").decode(),
                "ContentType": "image/png",
                "ContentID": "cid:logo",
            },
        ],
        "MessageStream": "transactional",
        "TrackOpens": True,
        "TrackLinks": "HtmlOnly",
    }


@pytest.mark.parametrize(
    ("template_id", "key", "value"),
    [("1234567", "TemplateId", 1234567), ("welcome-email", "TemplateAlias", "welcome-email")],
    ids=["numeric-id", "alias"],
)
async def test_a_template_goes_to_email_with_template(
    vendor: FakePostmark,
    postmark_hub: Callable[..., Hub],
    template_id: str,
    key: str,
    value: Any,
) -> None:
    hub = postmark_hub()
    await hub.email.send(
        {
            "from": "shop@example.com",
            "to": "ada@example.com",
            "template_id": template_id,
            "template_data": {"name": "Ada", "items": [{"sku": "A1"}]},
        }
    )
    assert str(vendor.requests[0].url) == f"{API}/email/withTemplate"
    assert vendor.bodies == [
        {
            "From": "shop@example.com",
            "To": "ada@example.com",
            key: value,
            "TemplateModel": {"name": "Ada", "items": [{"sku": "A1"}]},
        }
    ]


async def test_the_stream_option_wins_over_the_setting(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub(message_stream="outbound")
    await hub.email.send(
        full_message(provider_options={"postmark": {"MessageStream": "broadcast"}})
    )
    assert vendor.bodies[0]["MessageStream"] == "broadcast"


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"tags": ["receipts", "orders"]}, "tags", "one tag per message"),
        ({"bcc": [f"u{n}@example.com" for n in range(48)]}, "to", "at most 50"),
        ({"template_id": "welcome", "text": None, "html": None}, "subject", "template"),
        ({"template_data": {"a": 1}}, "template_data", "needs a template_id"),
        ({"metadata": {"Color": "blue", "color": "red"}}, "metadata", "case"),
        (
            {"provider_options": {"postmark": {"Tag": "other"}}},
            "provider_options.postmark.Tag",
            "tags",
        ),
    ],
    ids=[
        "two-tags",
        "51-recipients",
        "template-with-subject",
        "template-data-alone",
        "metadata-keys-by-case",
        "option-over-a-mapped-field",
    ],
)
async def test_what_postmark_cannot_express_is_refused_before_sending(
    vendor: FakePostmark,
    postmark_hub: Callable[..., Hub],
    overrides: dict[str, Any],
    field: str,
    says: str,
) -> None:
    hub = postmark_hub()
    with pytest.raises(InvalidRequest) as caught:
        await hub.email.send(full_message(**overrides))
    assert caught.value.field == field
    assert caught.value.provider == "postmark"
    assert says in str(caught.value)
    assert vendor.requests == []


async def test_a_scheduled_send_is_refused_as_unsupported(
    vendor: FakePostmark, postmark_hub: Callable[..., Hub]
) -> None:
    hub = postmark_hub()
    with pytest.raises(UnsupportedFeature) as caught:
        await hub.email.send(full_message(send_at=datetime.now(UTC) + timedelta(hours=1)))
    assert caught.value.feature == "scheduled_send"
    assert vendor.requests == []
