"""Twilio's message webhooks: status callbacks and inbound messages, signed with the auth token.

Twilio signs each request with ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's
auth token, over the URL it called followed by every POST parameter (name + value, sorted by
name). A JSON-bodied request instead carries ``bodySHA256`` in its URL and only the URL is
signed. The URL must be the one Twilio called (``webhooks.public_url`` behind a proxy).

Twilio sends no timestamp and no event id, so replays are caught by the dispatcher's dedupe on
``<MessageSid>:<status>``: each status of a message is one event, delivered once to handlers
however often Twilio retries it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from hub.errors import WebhookError
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import sign_twilio, verify_twilio
from hub_twilio.errors import delivery_reason
from hub_twilio.settings import TwilioSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["EVENT_TYPES", "TwilioWebhooks"]

#: Twilio's ``MessageStatus`` -> normalized type; anything else becomes ``sms.x-<status>``.
EVENT_TYPES: Mapping[str, str] = {
    "accepted": "sms.queued",
    "scheduled": "sms.queued",
    "queued": "sms.queued",
    "sending": "sms.queued",
    "sent": "sms.sent",
    "delivered": "sms.delivered",
    "undelivered": "sms.undelivered",
    "failed": "sms.failed",
    "received": "sms.received",
}
# Status callback fields kept in ``data`` under snake_case names (the whole form stays in raw).
_DETAILS = {
    "From": "from",
    "To": "to",
    "AccountSid": "account_sid",
    "MessagingServiceSid": "messaging_service_sid",
    "NumSegments": "num_segments",
    "RawDlrDoneDate": "raw_dlr_done_date",
    "ChannelToAddress": "channel_to_address",
}
_NAME = re.compile(r"[^a-z0-9_]+")
_MEDIA_URL = re.compile(r"^MediaUrl(\d+)$")


class TwilioWebhooks(BaseWebhookHandler):
    """``POST /webhooks/twilio``: verify the signature, normalize the message's news."""

    def __init__(self, settings: TwilioSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        self._tokens = settings.webhook_tokens()

    def verify(self, request: InboundRequest) -> None:
        try:
            if _json_bodied(request.url):
                verify_twilio(request.headers, request.url, secrets=self._tokens, body=request.body)
            else:
                verify_twilio(
                    request.headers, request.url, secrets=self._tokens, params=request.form()
                )
        except WebhookError as exc:
            raise WebhookError(f"twilio webhook: {exc.message}", provider=self.provider) from None

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        fields = self._fields(request)
        sid = fields.get("MessageSid") or fields.get("SmsSid")
        status = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").lower()
        if not status and fields.get("Body") is not None and fields.get("From"):
            status = "received"  # an inbound message webhook without SmsStatus
        if not sid or not status:
            raise WebhookError(
                "twilio webhook: expected a message status callback or an inbound message "
                "(MessageSid with MessageStatus, or Body and From)",
                provider=self.provider,
            )
        data: dict[str, Any] = {
            name: fields[key] for key, name in _DETAILS.items() if fields.get(key)
        }
        data["status"] = status
        event: dict[str, Any] = {"subject_id": sid, "recipient": fields.get("To"), "raw": fields}
        code = fields.get("ErrorCode")
        if code and code != "0":
            data["error_code"] = code
            event["reason"] = delivery_reason(code)
        if status == "received":
            data["body"] = fields.get("Body", "")
            data["media_urls"] = _media(fields)
        event["data"] = data
        return [self.event(_event_type(status), f"{sid}:{status}", **event)]

    def _fields(self, request: InboundRequest) -> dict[str, str]:
        if not _json_bodied(request.url):
            return dict(request.form().multi_items())
        payload = request.json()
        if not isinstance(payload, dict):
            raise WebhookError("twilio webhook: expected a JSON object", provider=self.provider)
        return {
            str(k): str(v) for k, v in payload.items() if isinstance(v, str | int | float | bool)
        }

    # -- test hooks: what Twilio would send -------------------------------------------------

    def sign(self, body: bytes, *, url: str) -> dict[str, str]:
        params = () if _json_bodied(url) else parse_qsl(body.decode("utf-8"))
        return sign_twilio(url, params, secret=self._tokens[0])

    def encode(self, events: Sequence[HubEvent]) -> bytes:
        if len(events) != 1:
            raise ValueError("Twilio sends one message event per request")
        event = events[0]
        status = str(event.data.get("status") or event.type.split(".", 1)[1].removeprefix("x-"))
        form = {"MessageSid": event.subject_id or event.provider_event_id.split(":")[0]}
        form["SmsSid"] = form["MessageSid"]
        if event.recipient:
            form["To"] = event.recipient
        for key, name in _DETAILS.items():
            if isinstance(event.data.get(name), str):
                form[key] = event.data[name]
        if status == "received":
            form.update(SmsStatus="received", Body=str(event.data.get("body", "")), NumMedia="0")
        else:
            form.update(MessageStatus=status, SmsStatus=status)
        if event.data.get("error_code"):
            form["ErrorCode"] = str(event.data["error_code"])
        return urlencode(form).encode("ascii")


def _json_bodied(url: str) -> bool:
    return "bodySHA256" in parse_qs(urlsplit(url).query)


def _event_type(status: str) -> str:
    known = EVENT_TYPES.get(status)
    if known is not None:
        return known
    return f"sms.x-{_NAME.sub('_', status).strip('_') or 'unknown'}"


def _media(fields: Mapping[str, str]) -> list[str]:
    found = sorted((int(m.group(1)), v) for k, v in fields.items() if (m := _MEDIA_URL.match(k)))
    return [url for _, url in found]
