"""SES events over SNS: signature verification, subscription confirmation, normalized events.

Notifications are signed here as SNS signs them, with an RSA key whose self-signed certificate
the injected fetch serves for an SNS-looking URL; nothing leaves the process.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hub_ses.webhooks import SesWebhookHandler

from hub import Hub
from hub.errors import Unavailable, WebhookError
from hub.http import override_transport
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, receive, webhook_handler
from hub.webhooks.sns import sign_sns

pytestmark = pytest.mark.anyio

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
OTHER_TOPIC = "arn:aws:sns:us-east-1:999999999999:someone-else"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000.pem"
ROTATED_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1111111111111111.pem"
SUBSCRIBE_URL = (
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
    + TOPIC
    + "&Token=2336412f37"
)
WEBHOOK_URL = "https://hooks.example.com/webhooks/ses"
SES_MESSAGE_ID = "010001712d4f4c2c-9a6a-4f3e-bd4e-3b0c6d3c0a7e-000000"


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


KEY, CERT = _key_and_cert()
ROTATED_KEY, ROTATED_CERT = _key_and_cert()


class FakeSns:
    """The injected fetch: serves certificates and records every URL asked for."""

    def __init__(self) -> None:
        self.certificates = {CERT_URL: CERT, ROTATED_URL: ROTATED_CERT}
        self.calls: list[str] = []

    async def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if url in self.certificates:
            return self.certificates[url]
        if "Action=ConfirmSubscription" in url:
            return b"<ConfirmSubscriptionResponse/>"
        raise AssertionError(f"unexpected fetch of {url}")


def _timestamp(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def notification(
    event: dict[str, Any],
    *,
    key: rsa.RSAPrivateKey = KEY,
    cert_url: str = CERT_URL,
    version: str = "1",
    topic: str = TOPIC,
    age: timedelta = timedelta(),
    **fields: Any,
) -> dict[str, Any]:
    message = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(event),
        "Timestamp": _timestamp(-age),
        "SigningCertURL": cert_url,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        **fields,
    }
    return sign_sns(message, key, version=version)  # type: ignore[arg-type]


def confirmation(*, topic: str = TOPIC, subscribe_url: str = SUBSCRIBE_URL) -> dict[str, Any]:
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": "2336412f37",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": subscribe_url,
        "Timestamp": _timestamp(),
        "SigningCertURL": CERT_URL,
    }
    return sign_sns(message, KEY, version="2")


def request(message: dict[str, Any], **headers: str) -> InboundRequest:
    return InboundRequest(
        url=WEBHOOK_URL,
        body=json.dumps(message).encode(),
        headers={
            "content-type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": message["Type"],
            "x-amz-sns-message-id": message["MessageId"],
            "x-amz-sns-topic-arn": message["TopicArn"],
            **headers,
        },
    )


def mail(**fields: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-24T10:00:00.000Z",
        "source": "shop@example.com",
        "messageId": SES_MESSAGE_ID,
        "destination": ["ada@example.com"],
        "tags": {"order_id": ["A-1001"]},
        **fields,
    }


def delivery() -> dict[str, Any]:
    return {
        "eventType": "Delivery",
        "mail": mail(destination=["ada@example.com", "grace@example.com"]),
        "delivery": {
            "timestamp": "2026-11-24T10:00:02.000Z",
            "processingTimeMillis": 1520,
            "recipients": ["ada@example.com", "grace@example.com"],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
    }


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    settings: dict[str, Any] = {
        "env": "test",
        "state": {"url": "memory://"},
        "email": {"provider": "fake", "ses": {"region": "us-east-1", "sns_topic_arns": [TOPIC]}},
    }
    async with Hub.from_settings(**settings) as built:
        yield built


@pytest.fixture
def sns() -> FakeSns:
    return FakeSns()


@pytest.fixture
def handler(hub: Hub, sns: FakeSns) -> SesWebhookHandler:
    built = webhook_handler(hub, "ses")
    assert isinstance(built, SesWebhookHandler)
    built.fetch = sns
    return built


async def events_of(handler: SesWebhookHandler, message: dict[str, Any]) -> list[HubEvent]:
    inbound = request(message)
    await handler.prepare(inbound)
    handler.verify(inbound)
    return handler.parse(inbound)


# -- verification ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
async def test_signed_notification_is_verified_and_dispatched(
    hub: Hub, handler: SesWebhookHandler, version: str
) -> None:
    seen: list[HubEvent] = []

    @hub.on("email.delivered")
    async def on_delivered(event: HubEvent) -> None:
        seen.append(event)

    inbound = request(notification(delivery(), version=version))
    await handler.prepare(inbound)
    received = await receive(hub, "ses", inbound)
    assert received.received == 2
    assert [e.recipient for e in seen] == ["ada@example.com", "grace@example.com"]
    again = await receive(hub, "ses", inbound)  # SNS retried the same message
    assert again.duplicates == 2


async def test_certificate_is_fetched_once_per_url(
    handler: SesWebhookHandler, sns: FakeSns
) -> None:
    await events_of(handler, notification(delivery()))
    await events_of(handler, notification(delivery()))
    assert sns.calls == [CERT_URL]


async def test_rotated_certificates_both_verify(handler: SesWebhookHandler, sns: FakeSns) -> None:
    assert await events_of(handler, notification(delivery()))
    rotated = notification(delivery(), key=ROTATED_KEY, cert_url=ROTATED_URL, version="2")
    assert await events_of(handler, rotated)
    assert sns.calls == [CERT_URL, ROTATED_URL]


async def test_tampered_message_is_refused(handler: SesWebhookHandler) -> None:
    message = notification(delivery())
    event = json.loads(message["Message"])
    event["delivery"]["recipients"] = ["mallory@example.com"]
    message["Message"] = json.dumps(event)
    with pytest.raises(WebhookError, match="signature does not match"):
        await handler.prepare(request(message))


async def test_signature_by_another_key_is_refused(handler: SesWebhookHandler) -> None:
    forged = notification(delivery(), key=ROTATED_KEY, cert_url=CERT_URL)
    with pytest.raises(WebhookError, match="signature does not match"):
        await handler.prepare(request(forged))


async def test_subject_is_part_of_what_is_signed(handler: SesWebhookHandler) -> None:
    message = notification(delivery(), Subject="Amazon SES Email Event Notification")
    assert await events_of(handler, message)
    message["Subject"] = "changed"
    with pytest.raises(WebhookError):
        await handler.prepare(request(message))


async def test_stale_message_is_refused(handler: SesWebhookHandler) -> None:
    with pytest.raises(WebhookError, match="stale"):
        await handler.prepare(request(notification(delivery(), age=timedelta(hours=2))))


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/cert.pem",
        "https://s3.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
    ],
)
async def test_certificate_urls_off_sns_are_never_fetched(
    handler: SesWebhookHandler, sns: FakeSns, url: str
) -> None:
    with pytest.raises(WebhookError, match="SigningCertURL"):
        await handler.prepare(request(notification(delivery(), cert_url=url)))
    assert sns.calls == []


async def test_verify_without_prepare_refuses(handler: SesWebhookHandler) -> None:
    with pytest.raises(WebhookError, match="prepare"):
        handler.verify(request(notification(delivery())))


async def test_topic_outside_the_allow_list_is_refused(handler: SesWebhookHandler) -> None:
    with pytest.raises(WebhookError, match="sns_topic_arns"):
        await handler.prepare(request(notification(delivery(), topic=OTHER_TOPIC)))


async def test_headers_must_agree_with_the_body(handler: SesWebhookHandler) -> None:
    message = notification(delivery())
    with pytest.raises(WebhookError, match="x-amz-sns-topic-arn"):
        await handler.prepare(request(message, **{"x-amz-sns-topic-arn": OTHER_TOPIC}))


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"Type": "Other"}'])
async def test_non_sns_bodies_are_refused(handler: SesWebhookHandler, body: bytes) -> None:
    with pytest.raises(WebhookError):
        await handler.prepare(InboundRequest(url=WEBHOOK_URL, body=body))


# -- subscriptions --------------------------------------------------------------------------


async def test_subscription_of_an_allowed_topic_is_confirmed(
    hub: Hub, handler: SesWebhookHandler, sns: FakeSns
) -> None:
    inbound = request(confirmation())
    await handler.prepare(inbound)
    assert sns.calls == [CERT_URL, SUBSCRIBE_URL]
    assert (await receive(hub, "ses", inbound)).received == 0


async def test_subscription_of_another_topic_is_logged_not_confirmed(
    handler: SesWebhookHandler, sns: FakeSns, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hub.webhooks.ses"):
        assert await events_of(handler, confirmation(topic=OTHER_TOPIC)) == []
    assert sns.calls == [CERT_URL]
    assert "not confirmed" in caplog.text
    assert OTHER_TOPIC in caplog.text
    assert "2336412f37" not in caplog.text  # the token never reaches a log


async def test_subscription_url_off_sns_is_not_followed(
    handler: SesWebhookHandler, sns: FakeSns, caplog: pytest.LogCaptureFixture
) -> None:
    message = confirmation(subscribe_url="https://evil.example/?Action=ConfirmSubscription")
    with caplog.at_level(logging.WARNING, logger="hub.webhooks.ses"):
        assert await events_of(handler, message) == []
    assert sns.calls == [CERT_URL]
    assert "not confirmed" in caplog.text


# -- the default fetch: the hub's HTTP client -----------------------------------------------


async def test_default_fetch_uses_the_hub_http_client_and_caches(hub: Hub) -> None:
    handler = webhook_handler(hub, "ses")
    assert isinstance(handler, SesWebhookHandler)
    asked: list[str] = []

    def answer(req: httpx.Request) -> httpx.Response:
        asked.append(str(req.url))
        return httpx.Response(200, content=CERT)

    with override_transport(httpx.MockTransport(answer)):
        await events_of(handler, notification(delivery()))
        await events_of(handler, notification(delivery()))
    assert asked == [CERT_URL]


async def test_default_fetch_failure_is_unavailable_so_sns_retries(hub: Hub) -> None:
    handler = webhook_handler(hub, "ses")
    assert isinstance(handler, SesWebhookHandler)
    with (
        override_transport(httpx.MockTransport(lambda req: httpx.Response(503))),
        pytest.raises(Unavailable),
    ):
        await handler.prepare(request(notification(delivery())))


# -- normalization --------------------------------------------------------------------------


def bounce(bounce_type: str) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "mail": mail(),
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "ada@example.com",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2026-11-24T10:00:05.000Z",
            "feedbackId": "0100017-bounce",
        },
    }


EVENTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"eventType": "Send", "mail": mail(), "send": {}}, {"type": "email.queued"}),
    (
        bounce("Permanent"),
        {"type": "email.bounced", "bounce_type": "hard", "reason": "smtp; 550 5.1.1 user unknown"},
    ),
    (bounce("Transient"), {"type": "email.bounced", "bounce_type": "soft"}),
    (
        {
            "eventType": "Complaint",
            "mail": mail(),
            "complaint": {
                "complainedRecipients": [{"emailAddress": "ada@example.com"}],
                "timestamp": "2026-11-24T11:00:00.000Z",
                "feedbackId": "0100017-complaint",
                "complaintFeedbackType": "abuse",
            },
        },
        {"type": "email.complained", "reason": "abuse"},
    ),
    (
        {"eventType": "Reject", "mail": mail(), "reject": {"reason": "Bad content"}},
        {"type": "email.rejected", "reason": "Bad content"},
    ),
    (
        {
            "eventType": "Open",
            "mail": mail(),
            "open": {
                "ipAddress": "192.0.2.1",
                "timestamp": "2026-11-24T12:00:00.000Z",
                "userAgent": "Mozilla/5.0",
            },
        },
        {"type": "email.opened"},
    ),
    (
        {
            "eventType": "Click",
            "mail": mail(),
            "click": {
                "ipAddress": "192.0.2.1",
                "timestamp": "2026-11-24T12:01:00.000Z",
                "userAgent": "Mozilla/5.0",
                "link": "https://shop.example.com/orders/1001",
                "linkTags": {"campaign": ["spring"]},
            },
        },
        {"type": "email.clicked", "url": "https://shop.example.com/orders/1001"},
    ),
    (
        {
            "eventType": "DeliveryDelay",
            "mail": mail(),
            "deliveryDelay": {
                "timestamp": "2026-11-24T10:30:00.000Z",
                "delayType": "TransientCommunicationFailure",
                "expirationTime": "2026-11-25T10:00:00.000Z",
                "delayedRecipients": [
                    {
                        "emailAddress": "ada@example.com",
                        "status": "4.4.1",
                        "diagnosticCode": "smtp; 421 4.4.1 try later",
                    }
                ],
            },
        },
        {"type": "email.deferred", "reason": "smtp; 421 4.4.1 try later"},
    ),
    (
        {
            "eventType": "Subscription",
            "mail": mail(),
            "subscription": {
                "contactList": "news",
                "timestamp": "2026-11-24T13:00:00.000Z",
                "source": "UnsubscribeHeader",
                "newTopicPreferences": {"unsubscribeAll": True},
            },
        },
        {"type": "email.unsubscribed"},
    ),
    (
        {
            "eventType": "Rendering Failure",
            "mail": mail(),
            "failure": {},
            "renderingFailure": {
                "errorMessage": "Attribute 'name' is not present",
                "templateName": "welcome",
            },
        },
        {"type": "email.failed", "reason": "Attribute 'name' is not present"},
    ),
    (
        {
            "notificationType": "Bounce",  # identity notifications (no configuration set)
            "mail": mail(),
            "bounce": bounce("Permanent")["bounce"],
        },
        {"type": "email.bounced", "bounce_type": "hard"},
    ),
]


@pytest.mark.parametrize(
    ("event", "expected"), EVENTS, ids=[e.get("eventType") or "identity" for e, _ in EVENTS]
)
async def test_ses_events_are_normalized(
    handler: SesWebhookHandler, event: dict[str, Any], expected: dict[str, Any]
) -> None:
    message = notification(event)
    (hub_event,) = await events_of(handler, message)
    assert hub_event.provider == "ses"
    assert hub_event.subject_id == SES_MESSAGE_ID
    assert hub_event.recipient == "ada@example.com"
    assert hub_event.provider_event_id == f"{message['MessageId']}:ada@example.com"
    assert hub_event.data["tags"] == {"order_id": ["A-1001"]}
    assert hub_event.raw == event
    for name, value in expected.items():
        assert getattr(hub_event, name) == value, name


async def test_event_time_comes_from_the_event(handler: SesWebhookHandler) -> None:
    (event,) = await events_of(handler, notification(bounce("Permanent")))
    assert event.occurred_at == datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)


async def test_a_notification_that_is_not_an_ses_event_is_refused(
    handler: SesWebhookHandler,
) -> None:
    with pytest.raises(WebhookError):
        await events_of(handler, notification({"hello": "world"}))
