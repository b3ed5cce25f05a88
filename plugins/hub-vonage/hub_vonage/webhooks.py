"""Vonage SMS API webhooks: delivery receipts (DLRs) and inbound messages, as HubEvents.

Vonage calls the webhook URL with flat parameters: a query string (``GET``), a form or a JSON
object (``POST``/``POST-JSON``), as chosen in the Dashboard. A DLR carries ``messageId``,
``status`` and ``err-code``; an inbound message ``msisdn``, ``to``, ``text`` and ``type``.

The SMS API does not sign these by default. When Vonage has enabled signed webhooks for the
account, every request carries ``timestamp``, ``nonce`` and ``sig`` (see
:mod:`hub_vonage.signing`), verified here with the signature secret(s). Without a secret the
handler refuses every request, unless ``allow_unsigned_webhooks`` says the operator accepts
that anyone who learns the URL can forge receipts. Replays inside the timestamp tolerance are
dropped by the dispatcher, which deduplicates on ``<messageId>:<status>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from hub.errors import WebhookError
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub_vonage.mapping import decode_client_ref
from hub_vonage.settings import VonageSettings
from hub_vonage.signing import sign_params, verify_params

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["DLR_ERRORS", "DLR_EVENTS", "VonageWebhooks", "webhook_params"]

#: DLR ``status`` → hub event type.
DLR_EVENTS: Mapping[str, str] = {
    "accepted": "sms.sent",
    "buffered": "sms.sent",
    "delivered": "sms.delivered",
    "expired": "sms.undelivered",
    "rejected": "sms.undelivered",
    "failed": "sms.failed",
    "unknown": "sms.x-unknown",
}
#: DLR ``err-code`` → its documented meaning (Vonage "SMS Delivery Error Codes").
DLR_ERRORS: Mapping[str, str] = {
    "1": "Unknown",
    "2": "Absent Subscriber - Temporary",
    "3": "Absent Subscriber - Permanent",
    "4": "Call Barred by User",
    "5": "Portability Error",
    "6": "Anti-Spam Rejection",
    "7": "Handset Busy",
    "8": "Network Error",
    "9": "Illegal Number",
    "10": "Illegal Message",
    "11": "Unroutable",
    "12": "Destination Unreachable",
    "13": "Subscriber Age Restriction",
    "14": "Number Blocked by Carrier",
    "15": "Prepaid Insufficient Funds",
    "16": "Gateway Quota Exceeded",
    "50": "Entity Filter",
    "51": "Header Filter",
    "52": "Content Filter",
    "53": "Consent Filter",
    "54": "Regulation Error",
    "99": "General Error",
}
_BACK = {"sms.sent": "accepted", "sms.delivered": "delivered", "sms.failed": "failed"}
_INBOUND_TYPES = frozenset({"text", "unicode", "binary"})
_VENDOR_NAME = re.compile(r"[^a-z0-9_]+")
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_UNSIGNED = (
    "Vonage webhook refused: no signature secret is configured. The SMS API signs delivery "
    "receipts and inbound messages only when Vonage enables signed webhooks for the account; "
    "then set VONAGE_SIGNATURE_SECRET (HUB_SMS__VONAGE__SIGNATURE_SECRET). To accept unsigned "
    "webhooks anyway set HUB_SMS__VONAGE__ALLOW_UNSIGNED_WEBHOOKS=true and keep the URL secret"
)


def webhook_params(request: InboundRequest) -> dict[str, str]:
    """The flat parameters Vonage sent: query (GET), JSON object or form body (POST)."""
    body = request.body.strip()
    if request.method == "GET" or not body:
        pairs: Iterable[tuple[str, Any]] = parse_qsl(
            urlsplit(request.url).query, keep_blank_values=True
        )
    elif body[:1] in (b"{", b"[") or "json" in request.headers.get("content-type", ""):
        data = request.json()
        if not isinstance(data, dict):
            raise WebhookError("a Vonage JSON webhook must be an object", provider="vonage")
        pairs = data.items()
    else:
        pairs = request.form().multi_items()
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise WebhookError(f"parameter {name!r} is repeated", provider="vonage")
        params[name] = _scalar(name, value)
    return params


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise WebhookError(f"parameter {name!r} is not a plain value", provider="vonage")


class VonageWebhooks(BaseWebhookHandler):
    """Verifies Vonage's ``sig`` (when configured) and turns a DLR or an inbound SMS into one
    HubEvent."""

    def __init__(self, settings: VonageSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        self._secrets = settings.webhook_secrets()
        self._method = settings.signature_method
        self._allow_unsigned = settings.allow_unsigned_webhooks
        self._clock = context.runtime.clock

    def verify(self, request: InboundRequest) -> None:
        params = webhook_params(request)
        if not self._secrets:
            if not self._allow_unsigned:
                raise WebhookError(_UNSIGNED, provider=self.provider)
            return
        verify_params(
            params,
            secrets=self._secrets,
            method=self._method,
            tolerance=self.tolerance,
            now=self._clock.now(),
        )

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        params = webhook_params(request)
        if "status" in params and "messageId" in params:
            return [self._receipt(params)]
        if params.get("type") in _INBOUND_TYPES and "msisdn" in params and "messageId" in params:
            return [self._inbound(params)]
        raise WebhookError(
            "not a Vonage SMS webhook: expected a delivery receipt (messageId, status) or an "
            "inbound message (msisdn, to, messageId, type)",
            provider=self.provider,
        )

    def _receipt(self, params: Mapping[str, str]) -> HubEvent:
        status = params["status"].strip().lower()
        event_type = DLR_EVENTS.get(status) or _vendor_type(status, self.provider)
        code = params.get("err-code", "").strip()
        reason = DLR_ERRORS.get(code, f"error {code}") if code not in ("", "0") else None
        if reason is None and event_type == "sms.undelivered":
            reason = status
        data: dict[str, Any] = {"status": status}
        for name, key in (
            ("to", "sender"),
            ("network-code", "network_code"),
            ("price", "price"),
            ("err-code", "error_code"),
            ("scts", "scts"),
            ("client-ref", "client_ref"),
        ):
            if params.get(name):
                data[key] = params[name]
        metadata = decode_client_ref(params.get("client-ref", ""))
        if metadata is not None:
            data["metadata"] = metadata
        message_id = params["messageId"]
        return self.event(
            event_type,
            f"{message_id}:{status}",
            subject_id=message_id,
            recipient=_phone(params.get("msisdn")),
            reason=reason,
            occurred_at=self._when(params),
            data=data,
            raw=dict(params),
        )

    def _inbound(self, params: Mapping[str, str]) -> HubEvent:
        message_id = params["messageId"]
        data: dict[str, Any] = {
            "from": _phone(params["msisdn"]),
            "to": _phone(params.get("to")),
            "type": params["type"],
        }
        for name in ("text", "keyword", "data", "udh"):
            if name in params:
                data[name] = params[name]
        if params.get("concat") == "true":
            data["concat"] = {key: params.get(f"concat-{key}") for key in ("ref", "total", "part")}
        return self.event(
            "sms.received",
            f"{message_id}:received",
            subject_id=message_id,
            recipient=_phone(params.get("to")),
            occurred_at=self._when(params),
            data=data,
            raw=dict(params),
        )

    def _when(self, params: Mapping[str, str]) -> datetime:
        text = params.get("message-timestamp", "")
        try:
            return datetime.strptime(text, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
        stamp = params.get("timestamp", "")
        if stamp.isdigit() and len(stamp) <= 12:
            return datetime.fromtimestamp(int(stamp), UTC)
        return datetime.fromtimestamp(self._clock.now(), UTC)

    # -- test hooks ---------------------------------------------------------------------

    def sign(self, body: bytes, *, url: str) -> dict[str, str]:
        """Vonage signs inside the parameters (see :meth:`encode`): no header is needed."""
        return {}

    def encode(self, events: Sequence[HubEvent]) -> bytes:
        """A POST-JSON body Vonage would send for one event, signed when a secret is set."""
        if len(events) != 1:
            raise WebhookError("Vonage sends exactly one event per request", provider="vonage")
        params = _params_for(events[0])
        if self._secrets:
            params = sign_params(
                {**params, "nonce": events[0].provider_event_id},
                secret=self._secrets[0],
                method=self._method,
                timestamp=int(self._clock.now()),
            )
        return json.dumps(params).encode("utf-8")


def _phone(value: str | None) -> str | None:
    """``447700900000`` → ``+447700900000``; an alphanumeric sender id stays as it is."""
    if not value:
        return None
    return f"+{value}" if value.isdigit() else value


def _vendor_type(status: str, provider: str) -> str:
    name = _VENDOR_NAME.sub("_", status).strip("_")
    if not name:
        raise WebhookError("delivery receipt has an empty status", provider=provider)
    return f"sms.x-{name}"


def _params_for(event: HubEvent) -> dict[str, str]:
    stamp = event.occurred_at.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)
    digits = (event.recipient or "").removeprefix("+")
    if event.type == "sms.received":
        data = event.data
        return {
            "msisdn": str(data.get("from") or "").removeprefix("+"),
            "to": digits,
            "messageId": event.subject_id or event.provider_event_id,
            "text": str(data.get("text", "")),
            "type": "text",
            "keyword": str(data.get("keyword", "")),
            "message-timestamp": stamp,
        }
    status = _BACK.get(event.type)
    if status is None:
        status = "rejected" if event.reason == "rejected" else "expired"
        if not event.type.startswith("sms.undelivered"):
            status = event.type.removeprefix("sms.x-")
    code = str(event.data.get("error_code", "0" if status in ("delivered", "accepted") else "1"))
    return {
        "msisdn": digits,
        "to": str(event.data.get("sender", "Acme")),
        "messageId": event.subject_id or event.provider_event_id.partition(":")[0],
        "status": status,
        "err-code": code,
        "message-timestamp": stamp,
    }
