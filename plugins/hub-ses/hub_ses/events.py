"""SES event JSON (event publishing, or identity notifications) -> normalized HubEvents.

One event per recipient concerned, ``subject_id`` the SES message id (the ``MessageId``
``SendEmail`` returned), ``provider_event_id`` the SNS message id plus the recipient, so SNS's
retries of the same notification are deduplicated by the hub.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from hub.errors import WebhookError
from hub.webhooks.events import HubEvent

__all__ = ["BOUNCE_TYPES", "EVENT_TYPES", "ses_events"]

#: SES ``eventType`` (``notificationType`` for identity notifications) -> hub event type.
EVENT_TYPES: Mapping[str, str] = {
    "Send": "email.queued",
    "Delivery": "email.delivered",
    "Bounce": "email.bounced",
    "Complaint": "email.complained",
    "Reject": "email.rejected",
    "Open": "email.opened",
    "Click": "email.clicked",
    "DeliveryDelay": "email.deferred",
    "Rendering Failure": "email.failed",
    "Subscription": "email.unsubscribed",
}
BOUNCE_TYPES: Mapping[str, Literal["hard", "soft"]] = {"Permanent": "hard", "Transient": "soft"}

Make = Callable[..., HubEvent]


def ses_events(payload: Any, *, event_id: str, make: Make) -> list[HubEvent]:
    """The HubEvents in one SES event; ``make`` is the handler's ``event(type, id, **fields)``."""
    if not isinstance(payload, dict):
        raise WebhookError("the SNS Message is not an SES event object")
    kind = payload.get("eventType") or payload.get("notificationType")
    mail = _dict(payload.get("mail"))
    if not isinstance(kind, str) or not mail:
        raise WebhookError("the SNS Message is not an SES event (no eventType or mail)")
    detail = _dict(payload.get(_detail_key(kind)))
    common: dict[str, Any] = {"subject_id": _str(mail.get("messageId")), "raw": payload}
    base_data: dict[str, Any] = {"ses_event": kind}
    if mail.get("tags"):
        base_data["tags"] = mail["tags"]
    destination = [d for d in mail.get("destination") or [] if isinstance(d, str)]
    when = _str(detail.get("timestamp")) or _str(mail.get("timestamp"))
    if when:
        common["occurred_at"] = when

    def emit(event_type: str, recipients: list[dict[str, Any]]) -> list[HubEvent]:
        events = []
        for fields in recipients or [{}]:
            recipient = fields.get("recipient")
            data = {**base_data, **fields.pop("data", {})}
            key = f"{event_id}:{recipient}" if recipient else event_id
            events.append(make(event_type, key, **common, **fields, data=data))
        return events

    hub_type = EVENT_TYPES.get(kind) or "email.x-" + _slug(kind)
    if kind == "Bounce":
        bounce_type = BOUNCE_TYPES.get(str(detail.get("bounceType")))
        base_data["bounce_subtype"] = detail.get("bounceSubType")
        return emit(
            hub_type, [_bounced(r, bounce_type) for r in _list(detail, "bouncedRecipients")]
        )
    if kind == "Complaint":
        reason = _str(detail.get("complaintFeedbackType"))
        return emit(
            hub_type,
            [
                {"recipient": _str(r.get("emailAddress")), "reason": reason}
                for r in _list(detail, "complainedRecipients")
            ],
        )
    if kind == "DeliveryDelay":
        base_data["expiration_time"] = detail.get("expirationTime")
        return emit(
            hub_type,
            [
                {
                    "recipient": _str(r.get("emailAddress")),
                    "reason": _str(r.get("diagnosticCode")) or _str(detail.get("delayType")),
                    "data": {"status": r.get("status"), "delay_type": detail.get("delayType")},
                }
                for r in _list(detail, "delayedRecipients")
            ],
        )
    if kind == "Delivery":
        base_data.update(
            smtp_response=detail.get("smtpResponse"),
            processing_time_ms=detail.get("processingTimeMillis"),
        )
        recipients = [r for r in detail.get("recipients") or [] if isinstance(r, str)]
        return emit(hub_type, [{"recipient": r} for r in recipients or destination])
    if kind in ("Open", "Click"):
        base_data.update(ip_address=detail.get("ipAddress"), user_agent=detail.get("userAgent"))
        fields: dict[str, Any] = {"recipient": destination[0] if len(destination) == 1 else None}
        if kind == "Click":
            fields["url"] = _str(detail.get("link"))
            base_data["link_tags"] = detail.get("linkTags")
        return emit(hub_type, [fields])
    if kind == "Subscription":
        preferences = _dict(detail.get("newTopicPreferences"))
        if not preferences.get("unsubscribeAll"):
            hub_type = "email.x-subscription_changed"
        base_data.update(contact_list=detail.get("contactList"), preferences=preferences)
    if kind == "Reject":
        common["reason"] = _str(detail.get("reason"))
    if kind == "Rendering Failure":
        common["reason"] = _str(detail.get("errorMessage"))
        base_data["template_name"] = detail.get("templateName")
    return emit(hub_type, [{"recipient": r} for r in destination])


def _bounced(
    recipient: dict[str, Any], bounce_type: Literal["hard", "soft"] | None
) -> dict[str, Any]:
    return {
        "recipient": _str(recipient.get("emailAddress")),
        "bounce_type": bounce_type,
        "reason": _str(recipient.get("diagnosticCode")),
        "data": {"status": recipient.get("status"), "action": recipient.get("action")},
    }


def _detail_key(kind: str) -> str:
    """``Rendering Failure`` -> ``renderingFailure``, ``DeliveryDelay`` -> ``deliveryDelay``."""
    compact = kind.replace(" ", "")
    return compact[:1].lower() + compact[1:]


def _slug(kind: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_") or "unknown"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(detail: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    return [item for item in detail.get(key) or [] if isinstance(item, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
