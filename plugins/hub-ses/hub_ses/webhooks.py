"""SES events over Amazon SNS HTTP(S) deliveries: verified, subscriptions confirmed, normalized.

SNS signs each delivery with a key whose certificate it names by URL, so verifying needs that
certificate, fetched once per URL. Fetching is I/O, which ``verify`` must not do: the async
:meth:`SesWebhookHandler.prepare` fetches (through the injectable ``fetch``), verifies and
confirms an allowed subscription; ``verify`` then checks from the cached key. See the README
for what the hub's receiver needs to call ``prepare``.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from hub.errors import Unavailable, WebhookError
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import check_timestamp
from hub_ses._sns import (
    SNS_URL,
    check_sns_url,
    load_signing_key,
    sns_timestamp,
    verify_sns,
)
from hub_ses.events import ses_events

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from hub._runtime import ProviderContext
    from hub.webhooks.events import HubEvent
    from hub_ses.settings import SesSettings

__all__ = ["Fetch", "SesWebhookHandler", "SnsFetch"]

#: ``await fetch(url) -> body``: GET an SNS URL (a signing certificate, a SubscribeURL).
Fetch = Callable[[str], Awaitable[bytes]]

log = logging.getLogger("hub.webhooks.ses")
_MAX_CERTIFICATES = 32
_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")


class SnsFetch:
    """The default fetch: a GET through the hub's HTTP client, opened on first use."""

    def __init__(self, context: ProviderContext) -> None:
        self._context = context
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, url: str) -> bytes:
        if self._client is None:
            self._client = self._context.http_client(base_url="https://sns.amazonaws.com")
        try:
            response = await self._client.get(url)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"{self._context.name}: could not fetch from SNS ({type(exc).__name__}); SNS "
                "will deliver the message again",
                provider=self._context.name,
            ) from None
        if response.status_code != 200:
            raise Unavailable(
                f"{self._context.name}: SNS answered HTTP {response.status_code} to a fetch",
                provider=self._context.name,
                status=response.status_code,
            )
        return response.content


class SesWebhookHandler(BaseWebhookHandler):
    """``POST /webhooks/ses``: SNS deliveries carrying SES events."""

    settings: SesSettings

    def __init__(
        self, settings: SesSettings, context: ProviderContext, *, fetch: Fetch | None = None
    ) -> None:
        super().__init__(settings, context)
        #: How SNS URLs are fetched; tests inject their own.
        self.fetch: Fetch = fetch if fetch is not None else SnsFetch(context)
        self.topics = frozenset(settings.sns_topic_arns)
        self._keys: OrderedDict[str, RSAPublicKey] = OrderedDict()

    # -- the async half: fetch, verify, confirm -------------------------------------------

    async def prepare(self, request: InboundRequest) -> None:
        """Fetch the signing certificate (cached by URL), verify, confirm allowed subscriptions."""
        message = self._message(request)
        url = check_sns_url(message.get("SigningCertURL"), "SigningCertURL")
        if url not in self._keys:
            key = load_signing_key(await self.fetch(url))
            self._keys[url] = key
            while len(self._keys) > _MAX_CERTIFICATES:
                self._keys.popitem(last=False)
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
        url = message.get("SubscribeURL")
        if not isinstance(url, str) or not SNS_URL.match(url):
            log.warning(
                "SNS subscription for topic %s not confirmed: its SubscribeURL is not on an SNS "
                "host",
                topic,
            )
            return
        await self.fetch(check_sns_url(url, "SubscribeURL"))
        log.info("confirmed the SNS subscription for topic %s", topic)

    # -- the sync half: what the hub's receiver calls -------------------------------------

    def verify(self, request: InboundRequest) -> None:
        message = self._message(request)
        url = check_sns_url(message.get("SigningCertURL"), "SigningCertURL")
        key = self._keys.get(url)
        if key is None:
            raise WebhookError(
                "the SNS signing certificate has not been fetched: await handler.prepare(request) "
                "before verify()",
                provider=self.provider,
            )
        self._keys.move_to_end(url)
        check_timestamp(sns_timestamp(message), tolerance=self.settings.webhook_max_age)
        if (
            message["Type"] == "Notification"
            and self.topics
            and message["TopicArn"] not in self.topics
        ):
            raise WebhookError(
                "SNS message from a topic not in sns_topic_arns", provider=self.provider
            )
        verify_sns(message, key)

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
