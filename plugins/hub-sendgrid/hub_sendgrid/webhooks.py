"""SendGrid's signed Event Webhook: ECDSA verification and normalized events.

SendGrid signs ``timestamp + body`` with ECDSA P-256 and sends the signature and timestamp in
``X-Twilio-Email-Event-Webhook-Signature`` / ``-Timestamp``; the verification key (base64 DER)
is shown under Mail Settings > Event Webhook. A request older than ``webhooks.tolerance`` is
refused, and events are deduplicated by ``sg_event_id``. The body is a JSON array of events.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.errors import WebhookError
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import verify_sendgrid
from hub_sendgrid.settings import SendGridSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["EVENT_TYPES", "SendGridWebhooks"]

#: SendGrid ``event`` -> normalized type; anything else becomes ``email.x-<event>``.
EVENT_TYPES: dict[str, str] = {
    "processed": "email.queued",
    "dropped": "email.rejected",
    "delivered": "email.delivered",
    "deferred": "email.deferred",
    "bounce": "email.bounced",
    "open": "email.opened",
    "click": "email.clicked",
    "spamreport": "email.complained",
    "unsubscribe": "email.unsubscribed",
    "group_unsubscribe": "email.unsubscribed",
    "group_resubscribe": "email.x-group_resubscribed",
}
#: A bounce event's ``type``: "bounce" is permanent, "blocked" (by the receiver) is not.
_BOUNCE_TYPES = {"bounce": "hard", "blocked": "soft"}
# Fields SendGrid defines; any other top-level key of an event is one of our custom_args.
_STANDARD = frozenset(
    {
        "email",
        "timestamp",
        "smtp-id",
        "event",
        "category",
        "sg_event_id",
        "sg_message_id",
        "sg_template_id",
        "sg_template_name",
        "sg_machine_open",
        "reason",
        "status",
        "response",
        "attempt",
        "type",
        "bounce_classification",
        "url",
        "url_offset",
        "useragent",
        "ip",
        "tls",
        "cert_err",
        "asm_group_id",
        "marketing_campaign_id",
        "marketing_campaign_name",
        "pool",
        "send_at",
        "singlesend_id",
        "singlesend_name",
        "template_id",
    }
)
# Event details worth keeping in ``data`` (the whole event stays in ``raw``).
_DETAILS = (
    "status",
    "attempt",
    "bounce_classification",
    "asm_group_id",
    "useragent",
    "ip",
    "sg_machine_open",
    "tls",
)
# sg_message_id = "<X-Message-Id>.filter…" or ".recvd-…": the part before is the send's id.
_SUFFIX = re.compile(r"\.(?:filter|recvd)")
_NAME = re.compile(r"[^a-z0-9_.-]+")


class SendGridWebhooks(BaseWebhookHandler):
    """``POST /webhooks/sendgrid``: verify the ECDSA signature, normalize the event array."""

    def __init__(self, settings: SendGridSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        self._public_keys = settings.require_webhook_keys()

    def verify(self, request: InboundRequest) -> None:
        try:
            verify_sendgrid(
                request.headers,
                request.body,
                public_keys=self._public_keys,
                tolerance=self.tolerance,
            )
        except WebhookError as exc:
            raise WebhookError(f"sendgrid webhook: {exc.message}", provider=self.provider) from None

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        payload = request.json()
        if not isinstance(payload, list):
            raise WebhookError(
                "sendgrid webhook: expected a JSON array of events", provider=self.provider
            )
        return [self._event(item, position) for position, item in enumerate(payload)]

    def _event(self, item: Any, position: int) -> HubEvent:
        if not isinstance(item, dict):
            raise WebhookError(
                f"sendgrid webhook: event {position} is not an object", provider=self.provider
            )
        kind = item.get("event")
        event_id = item.get("sg_event_id")
        if not isinstance(kind, str) or not kind or not isinstance(event_id, str):
            raise WebhookError(
                f"sendgrid webhook: event {position} lacks 'event' or 'sg_event_id'",
                provider=self.provider,
            )
        fields: dict[str, Any] = {
            "occurred_at": _timestamp(item.get("timestamp"), position, self.provider),
            "recipient": _text(item.get("email")),
            "raw": item,
        }
        message_id = _text(item.get("sg_message_id"))
        if message_id:
            fields["subject_id"] = _SUFFIX.split(message_id, maxsplit=1)[0]
        reason = _text(item.get("reason")) or _text(item.get("response"))
        if reason:
            fields["reason"] = reason
        if kind == "bounce":
            fields["bounce_type"] = _BOUNCE_TYPES.get(str(item.get("type")), "hard")
        if kind == "click":
            fields["url"] = _text(item.get("url"))
        data: dict[str, Any] = {k: item[k] for k in _DETAILS if k in item}
        if message_id:
            data["sg_message_id"] = message_id
        if "category" in item:
            category = item["category"]
            data["tags"] = category if isinstance(category, list) else [category]
        metadata = {k: v for k, v in item.items() if k not in _STANDARD}
        if metadata:
            data["metadata"] = metadata
        fields["data"] = data
        return self.event(_event_type(kind), event_id, **fields)


def _event_type(kind: str) -> str:
    known = EVENT_TYPES.get(kind)
    if known is not None:
        return known
    name = _NAME.sub("_", kind.lower()).strip("_.-") or "unknown"
    return f"email.x-{name}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _timestamp(value: Any, position: int, provider: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise WebhookError(
        f"sendgrid webhook: event {position} has no valid unix 'timestamp'", provider=provider
    )
