"""The exact request SendGrid gets for a message, and the fields it cannot take."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.capabilities.email import Attachment, EmailMessage
from hub.core import Hub
from hub.errors import InvalidRequest
from tests.plugins.sendgrid.conftest import API_KEY, MAIL_SEND, FakeSendGrid

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


SEND_AT = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)


def full_message(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "from": "Shop Ünïcode <shop@example.com>",
        "to": ["Ada Lovelace <ada@example.com>", "grace@example.com"],
        "cc": [{"email": "edsger@example.com", "name": "Edsger, W."}],
        "bcc": ["audit@example.com"],
        "reply_to": ["Support <support@example.com>", "help@example.com"],
        "subject": "Your order Ω-42",
        "text": "Thanks for your order.",
        "html": "<p>Thanks for your <b>order</b>.</p><img src='cid:logo'>",
        "attachments": [
            Attachment(filename="invoice.pdf", content=b"%PDF-1.4 fake"),
            Attachment(
                filename="logo.png", content=b"\x89PNG fake", inline=True, content_id="logo"
            ),
        ],
        "headers": {"X-Order-Id": "42", "List-Unsubscribe": "<mailto:unsub@example.com>"},
        "tags": ["orders", "receipts"],
        "metadata": {"order_id": "42", "customer": "c_7"},
        "send_at": SEND_AT,
        "provider_options": {
            "sendgrid": {
                "asm": {"group_id": 7},
                "mail_settings": {"sandbox_mode": {"enable": True}},
            },
            "postmark": {"TrackOpens": True},
        },
    }
    fields.update(overrides)
    return EmailMessage.model_validate(fields)


async def test_every_field_of_a_message_reaches_sendgrid(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    await hub.email.send(full_message())

    [request] = vendor.requests
    assert request.method == "POST"
    assert str(request.url) == MAIL_SEND
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert "idempotency-key" not in request.headers  # SendGrid has no idempotency key
    assert json.loads(request.content) == {
        "personalizations": [
            {
                "to": [
                    {"email": "ada@example.com", "name": "Ada Lovelace"},
                    {"email": "grace@example.com"},
                ],
                "cc": [{"email": "edsger@example.com", "name": "Edsger, W."}],
                "bcc": [{"email": "audit@example.com"}],
                "subject": "Your order Ω-42",
                "headers": {"X-Order-Id": "42", "List-Unsubscribe": "<mailto:unsub@example.com>"},
                "custom_args": {"order_id": "42", "customer": "c_7"},
                "send_at": int(SEND_AT.timestamp()),
            }
        ],
        "from": {"email": "shop@example.com", "name": "Shop Ünïcode"},
        "reply_to_list": [
            {"email": "support@example.com", "name": "Support"},
            {"email": "help@example.com"},
        ],
        "content": [
            {"type": "text/plain", "value": "Thanks for your order."},
            {
                "type": "text/html",
                "value": "<p>Thanks for your <b>order</b>.</p><img src='cid:logo'>",
            },
        ],
        "attachments": [
            {
                "content": base64.b64encode(b"%PDF-1.4 fake").decode(),
                "filename": "invoice.pdf",
                "type": "application/pdf",
                "disposition": "attachment",
            },
            {
                "content": base64.b64encode(b"\x89PNG fake").decode(),
                "filename": "logo.png",
                "type": "image/png",
                "disposition": "inline",
                "content_id": "logo",
            },
        ],
        "categories": ["orders", "receipts"],
        "asm": {"group_id": 7},
        "mail_settings": {"sandbox_mode": {"enable": True}},
    }


async def test_a_dynamic_template_carries_its_data_in_the_personalization(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub()
    await hub.email.send(
        {
            "from": "shop@example.com",
            "to": "ada@example.com",
            "template_id": "d-0123456789abcdef0123456789abcdef",
            "template_data": {"name": "Ada", "items": [{"sku": "A1", "qty": 2}]},
        }
    )
    assert vendor.bodies == [
        {
            "personalizations": [
                {
                    "to": [{"email": "ada@example.com"}],
                    "dynamic_template_data": {"name": "Ada", "items": [{"sku": "A1", "qty": 2}]},
                }
            ],
            "from": {"email": "shop@example.com"},
            "template_id": "d-0123456789abcdef0123456789abcdef",
        }
    ]


async def test_the_eu_region_sends_to_the_eu_host(
    vendor: FakeSendGrid, sendgrid_hub: Callable[..., Hub]
) -> None:
    hub = sendgrid_hub(region="eu")
    await hub.email.send(full_message(send_at=None))
    assert str(vendor.requests[0].url) == "https://api.eu.sendgrid.com/v3/mail/send"


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"tags": [f"t{n}" for n in range(11)]}, "tags", "at most 10 categories"),
        ({"to": [], "cc": [], "bcc": ["ada@example.com"]}, "to", "at least one 'to'"),
        ({"cc": ["ADA@example.com"]}, "cc", "more than once"),
        ({"headers": {"Reply-To": "x@example.com"}}, "headers", "'Reply-To'"),
        ({"send_at": datetime.now(UTC) + timedelta(hours=73)}, "send_at", "72 hours"),
        ({"template_data": {"a": 1}}, "template_data", "needs a template_id"),
        ({"subject": ""}, "subject", "needs a subject"),
        ({"text": ""}, "text", "empty text"),
        ({"metadata": {"blob": "x" * 10_001}}, "metadata", "custom_args"),
        (
            {"provider_options": {"sendgrid": {"categories": ["x"]}}},
            "provider_options.sendgrid.categories",
            "tags",
        ),
    ],
    ids=[
        "eleven-tags",
        "bcc-only",
        "duplicate-recipient",
        "reserved-header",
        "send-at-beyond-72h",
        "template-data-alone",
        "no-subject",
        "empty-text",
        "metadata-too-large",
        "option-over-a-mapped-field",
    ],
)
async def test_what_sendgrid_cannot_express_is_refused_before_sending(
    vendor: FakeSendGrid,
    sendgrid_hub: Callable[..., Hub],
    overrides: dict[str, Any],
    field: str,
    says: str,
) -> None:
    hub = sendgrid_hub()
    with pytest.raises(InvalidRequest) as caught:
        await hub.email.send(full_message(**overrides))
    assert caught.value.field == field
    assert caught.value.provider == "sendgrid"
    assert says in str(caught.value)
    assert vendor.requests == []
