"""Mailgun's webhooks: HMAC-signed JSON, one event per request, normalized into HubEvents.

Mailgun posts ``{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}`` and
signs ``timestamp + token`` with the HTTP webhook signing key (HMAC-SHA256, hex). A subaccount's
events carry a ``parent-signature`` made with the primary account's key, accepted as well.
The timestamp must be within ``webhooks.tolerance``; a replayed event is dropped by the
dispatcher, which deduplicates on ``event-data.id``. A refused request is answered 406, the one
status besides 200 after which Mailgun stops retrying.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hub._runtime import ProviderContext
from hub.errors import ConfigurationError, WebhookError
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import check_timestamp, hmac_signature, verify_hmac
from hub_mailgun.settings import MailgunSettings

__all__ = ["EVENTS", "MailgunWebhooks", "sign_payload"]

#: Mailgun event → hub event type (``failed`` is decided by severity and reason).
EVENTS: Mapping[str, str] = {
    "accepted": "email.queued",
    "delivered": "email.delivered",
    "opened": "email.opened",
    "clicked": "email.clicked",
    "unsubscribed": "email.unsubscribed",
    "complained": "email.complained",
    "rejected": "email.rejected",
}
#: Hub event → Mailgun event, for the ``encode`` test hook.
_BACK = {**{hub: mg for mg, hub in EVENTS.items()}, "email.bounced": "failed"}


def sign_payload(
    event_data: Mapping[str, Any],
    *,
    key: str,
    timestamp: int | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """The body Mailgun would post for ``event_data``, signed with ``key`` (tests, fakes)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token if token is not None else secrets.token_hex(25)
    return {
        "signature": {
            "timestamp": stamp,
            "token": token,
            "signature": hmac_signature(key, stamp + token),
        },
        "event-data": dict(event_data),
    }


class MailgunWebhooks(BaseWebhookHandler):
    """Verifies Mailgun's signature and turns its ``event-data`` into one HubEvent."""

    #: Mailgun retries every answer but 200 and 406 for hours: a refused request gets 406.
    refusal_status = 406

    def __init__(self, settings: MailgunSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        self._keys = settings.webhook_keys()
        if not self._keys:
            raise ConfigurationError(
                "Mailgun webhooks need the HTTP webhook signing key: set "
                "MAILGUN_WEBHOOK_SIGNING_KEY (or HUB_EMAIL__MAILGUN__WEBHOOK_SIGNING_KEY); "
                "it is shown in Mailgun under Sending → Webhooks"
            )

    def verify(self, request: InboundRequest) -> None:
        block = _object(request.json(), "signature")
        timestamp = _text(block, "timestamp")
        token = _text(block, "token")
        signed = timestamp + token
        try:
            verify_hmac(signed, _text(block, "signature"), secrets=self._keys)
        except WebhookError:
            parent = block.get("parent-signature")
            if not isinstance(parent, str) or not parent:
                raise
            verify_hmac(signed, parent, secrets=self._keys)
        check_timestamp(timestamp, tolerance=self.tolerance)

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        data = _object(request.json(), "event-data")
        name = _text(data, "event")
        event_id = _text(data, "id")
        fields: dict[str, Any] = {
            "occurred_at": _when(data.get("timestamp")),
            "subject_id": _message_id(data),
            "recipient": data.get("recipient") if isinstance(data.get("recipient"), str) else None,
            "raw": data,
            "data": _extra(data),
        }
        event_type = EVENTS.get(name)
        if name == "failed":
            event_type = _failed(data, fields)
        elif name == "clicked":
            fields["url"] = data.get("url") if isinstance(data.get("url"), str) else None
        elif name == "rejected":
            fields["reason"] = _reject_reason(data)
        if event_type is None:
            event_type = f"email.x-{name.lower().replace(' ', '_')}"
        return [self.event(event_type, event_id, **fields)]

    # -- test hooks ---------------------------------------------------------------------

    def sign(self, body: bytes, *, url: str) -> dict[str, str]:
        """Mailgun signs inside the body (see :meth:`encode`), so no header is needed."""
        return {}

    def encode(self, events: Sequence[HubEvent]) -> bytes:
        """A signed Mailgun body for one event (Mailgun posts one event per request)."""
        if len(events) != 1:
            raise WebhookError("Mailgun posts exactly one event per request")
        return json.dumps(sign_payload(_event_data(events[0]), key=self._keys[0])).encode()


def _object(body: Any, name: str) -> dict[str, Any]:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise WebhookError(
            f"not a Mailgun webhook: the body has no {name!r} object (legacy form-encoded "
            "webhooks are not supported; use Mailgun's current JSON webhooks)",
            provider="mailgun",
        )
    return value


def _text(block: Mapping[str, Any], name: str) -> str:
    value = block.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise WebhookError(f"Mailgun webhook field {name!r} is missing", provider="mailgun")
    return value


def _when(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass  # NaN, infinity or centuries away: not a time Mailgun sends
    raise WebhookError("Mailgun event-data has no usable timestamp", provider="mailgun")


def _message_id(data: Mapping[str, Any]) -> str | None:
    message = data.get("message")
    headers = message.get("headers") if isinstance(message, dict) else None
    found = headers.get("message-id") if isinstance(headers, dict) else None
    return found.strip("<>") if isinstance(found, str) and found else None


def _extra(data: Mapping[str, Any]) -> dict[str, Any]:
    """Normalized extras: tags, metadata (Mailgun's user-variables), severity, SMTP status."""
    extra: dict[str, Any] = {}
    if isinstance(data.get("tags"), list):
        extra["tags"] = data["tags"]
    if isinstance(data.get("user-variables"), dict) and data["user-variables"]:
        extra["metadata"] = data["user-variables"]
    if isinstance(data.get("severity"), str):
        extra["severity"] = data["severity"]
    status = data.get("delivery-status")
    if isinstance(status, dict) and status.get("code") is not None:
        extra["smtp_code"] = status.get("code")
    return extra


def _failed(data: Mapping[str, Any], fields: dict[str, Any]) -> str:
    """Permanent → bounced hard; temporary → bounced soft; suppressed → rejected (never sent)."""
    reason = data.get("reason") if isinstance(data.get("reason"), str) else None
    status = data.get("delivery-status")
    detail = None
    if isinstance(status, dict):
        detail = status.get("description") or status.get("message")
    fields["reason"] = detail if isinstance(detail, str) and detail else reason
    if reason is not None and reason.startswith("suppress-"):
        fields["reason"] = reason
        return "email.rejected"
    severity = data.get("severity")
    fields["bounce_type"] = "soft" if severity == "temporary" else "hard"
    return "email.bounced"


def _reject_reason(data: Mapping[str, Any]) -> str | None:
    reject = data.get("reject")
    if isinstance(reject, dict):
        for key in ("reason", "description"):
            if isinstance(reject.get(key), str) and reject[key]:
                return str(reject[key])
    return None


def _event_data(event: HubEvent) -> dict[str, Any]:
    name = _BACK.get(event.type)
    if name is None:
        name = event.type.removeprefix("email.x-")
    data: dict[str, Any] = {
        "event": name,
        "id": event.provider_event_id,
        "timestamp": event.occurred_at.timestamp(),
        "recipient": event.recipient,
        "message": {"headers": {"message-id": event.subject_id}},
    }
    if event.type == "email.bounced":
        data["severity"] = "temporary" if event.bounce_type == "soft" else "permanent"
        data["reason"] = "generic"
        data["delivery-status"] = {"code": 550, "description": event.reason or ""}
    if event.type == "email.rejected":
        data["reject"] = {"reason": event.reason or "", "description": ""}
    if event.url is not None:
        data["url"] = event.url
    return data
