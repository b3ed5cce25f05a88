"""SES events over Amazon SNS HTTP(S) deliveries: verified, subscriptions confirmed, normalized.

SNS signs each delivery with a key whose certificate it names by URL (see :mod:`hub.webhooks.sns`).
Fetching that certificate is I/O, which ``verify`` must not do: the async
:meth:`SesWebhookHandler.prepare`, which the hub's receiver awaits first, loads it into the
handler's certificate store (fetched once per URL, through the injectable ``fetch``), verifies
and confirms an allowed subscription; ``verify`` then checks from the cached certificate.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from hub.errors import WebhookError
from hub.webhooks.certificates import Fetch, HttpFetch
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.sns import check_sns_url, sns_certificates, verify_sns
from hub_ses.events import ses_events

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub.webhooks.events import HubEvent
    from hub_ses.settings import SesSettings

__all__ = ["SesWebhookHandler"]

log = logging.getLogger("hub.webhooks.ses")
_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")


class SesWebhookHandler(BaseWebhookHandler):
    """``POST /webhooks/ses``: SNS deliveries carrying SES events."""

    settings: SesSettings

    def __init__(
        self, settings: SesSettings, context: ProviderContext, *, fetch: Fetch | None = None
    ) -> None:
        super().__init__(settings, context)
        #: How SNS URLs (certificates, SubscribeURLs) are fetched; tests inject their own.
        self.fetch: Fetch = (
            fetch
            if fetch is not None
            else HttpFetch(context, base_url="https://sns.us-east-1.amazonaws.com")
        )
        self.topics = frozenset(settings.sns_topic_arns)
        #: SNS signing certificates by URL, loaded by :meth:`prepare`.
        self.certificates = sns_certificates(self._fetch)

    async def _fetch(self, url: str) -> bytes:
        return await self.fetch(url)  # read at call time: a test may have replaced ``fetch``

    # -- the async half: fetch, verify, confirm -------------------------------------------

    async def prepare(self, request: InboundRequest) -> None:
        """Fetch the signing certificate (cached by URL), verify, confirm allowed subscriptions."""
        message = self._message(request)
        await self.certificates.load(message.get("SigningCertURL"))
        self.verify(request)
        if message["Type"] == "SubscriptionConfirmation":
            await self._confirm(message)

    async def _confirm(self, message: dict[str, Any]) -> None:
        topic = message["TopicArn"]
        if topic not in self.topics:
            log.warning(
                "SNS subscription for topic %s not confirmed: it is not in sns_topic_arns", topic
            )
            return
        if not self.settings.confirm_subscriptions:
            log.warning(
                "SNS subscription for topic %s not confirmed: confirm_subscriptions is off; "
                "confirm it in the AWS console",
                topic,
            )
            return
        try:
            url = check_sns_url(message.get("SubscribeURL"), "SubscribeURL")
        except WebhookError:
            log.warning(
                "SNS subscription for topic %s not confirmed: its SubscribeURL is not on an SNS "
                "host",
                topic,
            )
            return
        await self.fetch(url)
        log.info("confirmed the SNS subscription for topic %s", topic)

    # -- the sync half: what the hub's receiver calls -------------------------------------

    def verify(self, request: InboundRequest) -> None:
        message = self._message(request)
        verify_sns(message, certificates=self.certificates, tolerance=self.settings.webhook_max_age)
        if (
            message["Type"] == "Notification"
            and self.topics
            and message["TopicArn"] not in self.topics
        ):
            raise WebhookError(
                "SNS message from a topic not in sns_topic_arns", provider=self.provider
            )

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        message = self._message(request)
        if message["Type"] != "Notification":
            return []  # subscription (un)confirmations carry no events
        try:
            payload = json.loads(message["Message"])
        except (TypeError, ValueError, RecursionError):
            raise WebhookError("the SNS Message is not JSON", provider=self.provider) from None
        return ses_events(payload, event_id=message["MessageId"], make=self.event)

    def _message(self, request: InboundRequest) -> dict[str, Any]:
        """The SNS envelope, its shape checked against the headers SNS sends along."""
        message = request.json()
        if not isinstance(message, dict) or message.get("Type") not in _TYPES:
            raise WebhookError("not an SNS message (no known Type)", provider=self.provider)
        for field in ("MessageId", "TopicArn", "Message", "Timestamp"):
            if not isinstance(message.get(field), str) or not message[field]:
                raise WebhookError(f"SNS message has no {field}", provider=self.provider)
        for header, field in (
            ("x-amz-sns-message-type", "Type"),
            ("x-amz-sns-topic-arn", "TopicArn"),
            ("x-amz-sns-message-id", "MessageId"),
        ):
            value = request.headers.get(header)
            if value is not None and value != message[field]:
                raise WebhookError(
                    f"{header} header does not match the body", provider=self.provider
                )
        return message

    def __repr__(self) -> str:
        return f"<SesWebhookHandler provider={self.provider!r} topics={len(self.topics)}>"
