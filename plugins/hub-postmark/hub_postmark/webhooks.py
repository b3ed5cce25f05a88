"""Postmark webhooks: HTTP Basic authentication and normalized events.

Postmark does not sign webhooks; it documents putting Basic credentials in the webhook URL
(``https://user:password@host/webhooks/postmark``) and allow-listing its IP ranges. The
handler checks the credentials with :func:`hub.webhooks.signatures.verify_basic_auth` (constant
time, previous passwords accepted while rotating, a repeated Authorization header refused).
With no timestamp to check, replays are stopped by deduplication: each event gets an id from
Postmark's own (bounce ``ID``) or a digest of what makes it unique. One event per request.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.errors import WebhookError
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import sign_basic_auth, verify_basic_auth
from hub_postmark.settings import PostmarkSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["BOUNCE_EVENTS", "PostmarkWebhooks"]

#: Bounce ``Type`` -> (normalized type, bounce_type) for bounces that are not plain ones.
BOUNCE_EVENTS: dict[str, tuple[str, str | None]] = {
    "HardBounce": ("email.bounced", "hard"),
    "BadEmailAddress": ("email.bounced", "hard"),
    "SoftBounce": ("email.bounced", "soft"),
    "Transient": ("email.bounced", "soft"),
    "DnsError": ("email.bounced", "soft"),
    "Blocked": ("email.bounced", "soft"),
    "SpamNotification": ("email.bounced", "soft"),
    "VirusNotification": ("email.bounced", "soft"),
    "ChallengeVerification": ("email.bounced", "soft"),
    "DMARCPolicy": ("email.bounced", "soft"),
    "Unknown": ("email.bounced", "soft"),
    "SpamComplaint": ("email.complained", None),
    "Unsubscribe": ("email.unsubscribed", None),
    "ManuallyDeactivated": ("email.rejected", None),
    "Unconfirmed": ("email.rejected", None),
    "TemplateRenderingFailed": ("email.failed", None),
    "SMTPApiError": ("email.failed", None),
}
# RecordType -> the field holding when it happened.
_WHEN = {
    "Delivery": "DeliveredAt",
    "Bounce": "BouncedAt",
    "SpamComplaint": "BouncedAt",
    "Open": "ReceivedAt",
    "Click": "ReceivedAt",
    "SubscriptionChange": "ChangedAt",
}
_NAME = re.compile(r"[^a-z0-9_.-]+")


class PostmarkWebhooks(BaseWebhookHandler):
    """``POST /webhooks/postmark``: check Basic credentials, normalize the one event."""

    def __init__(self, settings: PostmarkSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        self._username, self._passwords = settings.require_webhook_credentials()

    def verify(self, request: InboundRequest) -> None:
        try:
            verify_basic_auth(request.headers, self._username, self._passwords)
        except WebhookError as exc:
            raise self._error(str(exc)) from None

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        item = request.json()
        if not isinstance(item, dict):
            raise self._error("expected one JSON object per request")
        record = item.get("RecordType")
        if not isinstance(record, str) or not record:
            raise self._error("the payload has no RecordType")
        event_type, bounce_type = _classify(record, item)
        fields: dict[str, Any] = {"raw": item}
        when = _when(item.get(_WHEN.get(record, "")))
        if when is not None:
            fields["occurred_at"] = when
        message_id = _text(item.get("MessageID"))
        if message_id:
            fields["subject_id"] = message_id
        recipient = _text(item.get("Recipient")) or _text(item.get("Email"))
        if recipient:
            fields["recipient"] = recipient
        reason = _reason(record, item)
        if reason:
            fields["reason"] = reason
        if bounce_type is not None:
            fields["bounce_type"] = bounce_type
        if record == "Click":
            fields["url"] = _text(item.get("OriginalLink"))
        fields["data"] = _data(item)
        return [self.event(event_type, _event_id(record, item), **fields)]

    def sign(self, body: bytes, *, url: str) -> dict[str, str]:
        """Test hook: the header Postmark sends for the configured credentials."""
        return sign_basic_auth(self._username, self._passwords[0])

    def _error(self, problem: str) -> WebhookError:
        return WebhookError(f"postmark webhook: {problem}", provider=self.provider)


def _classify(record: str, item: dict[str, Any]) -> tuple[str, str | None]:
    if record == "Delivery":
        return "email.delivered", None
    if record == "Open":
        return "email.opened", None
    if record == "Click":
        return "email.clicked", None
    if record == "SpamComplaint":
        return "email.complained", None
    if record == "Bounce":
        kind = str(item.get("Type") or "Unknown")
        return BOUNCE_EVENTS.get(kind, (f"email.x-{_name(kind)}", None))
    if record == "SubscriptionChange":
        if not item.get("SuppressSending"):
            return "email.x-reactivated", None
        if item.get("SuppressionReason") == "ManualSuppression":
            return "email.unsubscribed", None
        # Hard bounces and complaints reach their own webhooks; this is the suppression.
        return "email.x-suppressed", None
    return f"email.x-{_name(record)}", None


def _event_id(record: str, item: dict[str, Any]) -> str:
    """Postmark's id where it has one (bounces, complaints); else a digest of the event."""
    if record in ("Bounce", "SpamComplaint") and item.get("ID") is not None:
        return f"{record.lower()}:{item['ID']}"
    unique = [
        record,
        item.get("MessageID"),
        item.get("Recipient") or item.get("Email"),
        item.get(_WHEN.get(record, "")),
        item.get("OriginalLink"),
        item.get("SuppressSending"),
    ]
    digest = hashlib.sha256(repr(unique).encode()).hexdigest()[:32]
    return f"{record.lower()}:{digest}"


def _reason(record: str, item: dict[str, Any]) -> str | None:
    if record in ("Bounce", "SpamComplaint"):
        return _text(item.get("Description")) or _text(item.get("Details"))
    if record == "SubscriptionChange":
        return _text(item.get("SuppressionReason"))
    if record == "Delivery":
        return _text(item.get("Details"))
    return None


def _data(item: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, name in (
        ("Tag", "tag"),
        ("Metadata", "metadata"),
        ("MessageStream", "message_stream"),
        ("Type", "vendor_type"),
        ("TypeCode", "type_code"),
        ("Inactive", "inactive"),
        ("CanActivate", "can_activate"),
        ("FirstOpen", "first_open"),
        ("ServerID", "server_id"),
        ("Origin", "origin"),
    ):
        if item.get(key) not in (None, ""):
            data[name] = item[key]
    return data


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _name(kind: str) -> str:
    return _NAME.sub("_", kind.lower()).strip("_.-") or "unknown"
