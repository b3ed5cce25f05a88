"""SmsMessage -> Twilio's Messages form, and Twilio's Message resource -> SmsReceipt.

Twilio's create-message call is ``application/x-www-form-urlencoded`` with PascalCase names;
a repeated name (``MediaUrl``, ``PersistentAction``) is a list. Anything the message asks for
that Twilio cannot express (``metadata``) raises InvalidRequest naming the field rather than
being dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.capabilities.sms import SmsMessage, SmsReceipt, SmsStatus
from hub.errors import InvalidRequest, ProviderError

__all__ = ["MAX_MEDIA", "OPTIONS", "Form", "message_form", "normalize_status", "receipt"]

Form = dict[str, str | list[str]]
#: Twilio's limit of ``MediaUrl`` values per message.
MAX_MEDIA = 10

#: ``provider_options["twilio"]`` keys -> Twilio's create-message parameters.
OPTIONS: Mapping[str, str] = {
    "messaging_service_sid": "MessagingServiceSid",
    "application_sid": "ApplicationSid",
    "max_price": "MaxPrice",
    "provide_feedback": "ProvideFeedback",
    "attempt": "Attempt",
    "validity_period": "ValidityPeriod",
    "force_delivery": "ForceDelivery",
    "content_retention": "ContentRetention",
    "address_retention": "AddressRetention",
    "smart_encoded": "SmartEncoded",
    "persistent_action": "PersistentAction",
    "shorten_urls": "ShortenUrls",
    "schedule_type": "ScheduleType",
    "send_at": "SendAt",
    "send_as_mms": "SendAsMms",
    "content_sid": "ContentSid",
    "content_variables": "ContentVariables",
    "risk_check": "RiskCheck",
}
# Set from the message's own fields: an option naming one would contradict the message.
_MESSAGE_FIELDS = {
    "to": "to",
    "from": "sender",
    "body": "body",
    "media_url": "media_urls",
    "status_callback": "status_callback",
}

#: Twilio's message status -> the hub's. Statuses before the carrier count as queued.
_STATUSES: Mapping[str, SmsStatus] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "partially_delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


def message_form(
    message: SmsMessage,
    *,
    provider: str,
    messaging_service_sid: str | None = None,
    status_callback: str | None = None,
) -> Form:
    """The create-message form for ``message``; settings give the service and callback defaults."""
    if message.metadata:
        raise InvalidRequest(
            "Twilio messages carry no metadata; keep it in your own store keyed by "
            "receipt.provider_id (the message SID) and drop 'metadata'",
            field="metadata",
            provider=provider,
        )
    form: Form = {"To": message.to, "Body": message.body}
    options = _options(message.provider_options.get("twilio") or {}, provider)
    service = options.pop("MessagingServiceSid", None) or messaging_service_sid
    if message.sender is not None:
        form["From"] = message.sender
    if service:
        # Twilio accepts both: From then has to be a sender of the service's pool.
        form["MessagingServiceSid"] = service
    if "From" not in form and "MessagingServiceSid" not in form:
        raise InvalidRequest(
            "Twilio needs a sender: pass sender= (a Twilio number or an alphanumeric id), set "
            "HUB_SMS__DEFAULT_SENDER, or set TWILIO_MESSAGING_SERVICE_SID (or "
            "provider_options['twilio']['messaging_service_sid']) so that Twilio picks one "
            "from the Messaging Service's pool",
            field="sender",
            provider=provider,
        )
    if len(message.media_urls) > MAX_MEDIA:
        raise InvalidRequest(
            f"Twilio sends at most {MAX_MEDIA} media URLs per message, got "
            f"{len(message.media_urls)}; split them over several messages",
            field="media_urls",
            provider=provider,
        )
    if message.media_urls:
        form["MediaUrl"] = [str(url) for url in message.media_urls]
    callback = str(message.status_callback) if message.status_callback else status_callback
    if callback:
        form["StatusCallback"] = callback
    form.update(options)
    return form


def _options(options: Mapping[str, Any], provider: str) -> Form:
    """``provider_options["twilio"]`` as form fields; unknown or conflicting keys are refused."""
    if not isinstance(options, Mapping):
        raise InvalidRequest(
            "provider_options['twilio'] must be a mapping of option names to values",
            field="provider_options.twilio",
            provider=provider,
        )
    form: Form = {}
    for key, value in options.items():
        name = OPTIONS.get(key)
        where = f"provider_options.twilio.{key}"
        if name is None:
            own = _MESSAGE_FIELDS.get(key)
            hint = (
                f"set the message's {own!r} field instead"
                if own
                else "known options: " + ", ".join(sorted(OPTIONS))
            )
            raise InvalidRequest(
                f"unknown Twilio option {key!r}; {hint}", field=where, provider=provider
            )
        if value is not None:
            form[name] = _form_value(value, where)
    return form


def _form_value(value: Any, where: str) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidRequest(
                f"{where} must be timezone-aware (Twilio reads it as an instant)", field=where
            )
        return value.isoformat()
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    raise InvalidRequest(
        f"{where} must be text, a number, a boolean, a datetime, a list of text or a mapping, "
        f"not {type(value).__name__}",
        field=where,
    )


def normalize_status(status: object) -> SmsStatus:
    """The hub's status for one of Twilio's message statuses (``unknown`` for anything new)."""
    return _STATUSES.get(str(status).lower(), "unknown")


def receipt(
    provider: str, message: SmsMessage, idempotency_key: str, data: Mapping[str, Any]
) -> SmsReceipt:
    """The receipt for Twilio's answer to a create-message call.

    ``num_segments`` is what Twilio bills; it is "0" until a Messaging Service has picked a
    sender, and then the hub's own count stands in. The message text is left out of ``raw``:
    it may carry a one-time code and receipts are remembered for idempotency.
    """
    sid = data.get("sid")
    if not isinstance(sid, str) or not sid:
        # The message may have gone out: neither retry nor fail over.
        raise ProviderError(
            f"{provider}: Twilio's answer has no message 'sid'; check the Twilio console before "
            "sending again",
            provider=provider,
            retryable=False,
            failover_safe=False,
            raw={k: v for k, v in data.items() if k != "body"},
        )
    try:
        segments = int(data.get("num_segments") or 0)
    except (TypeError, ValueError):
        segments = 0
    return SmsReceipt(
        provider=provider,
        provider_id=sid,
        idempotency_key=idempotency_key,
        to=message.to,
        status=normalize_status(data.get("status")),
        segments=segments if segments > 0 else message.segments,
        raw={k: v for k, v in data.items() if k != "body"},
    )
