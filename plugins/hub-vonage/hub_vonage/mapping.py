"""An SmsMessage as the form fields of Vonage's ``POST /sms/json`` (authentication apart).

Vonage wants numbers in E.164 without the ``+``, a ``type`` of ``unicode`` for anything outside
the GSM alphabet, and carries one free-form reference per message (``client-ref``, up to 100
characters) back in every delivery receipt. The hub puts the message's ``metadata`` there,
URL-encoded, or else the idempotency key, so a receipt can be matched to the send. Fields the
SMS API cannot express raise InvalidRequest naming them rather than being dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hub.capabilities.sms import SmsMessage
from hub.errors import InvalidRequest, UnsupportedFeature

__all__ = ["CLIENT_REF_LIMIT", "OPTIONS", "decode_client_ref", "request_params"]

#: Longest ``client-ref`` and ``callback`` the SMS API accepts.
CLIENT_REF_LIMIT = 100
CALLBACK_LIMIT = 100
_TTL_MS = (20_000, 604_800_000)


def _ttl(value: Any) -> str:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (_TTL_MS[0] <= value <= _TTL_MS[1])
    ):
        raise ValueError(
            f"must be whole milliseconds between {_TTL_MS[0]} and {_TTL_MS[1]} (7 days)"
        )
    return str(value)


def _flag(value: Any) -> str:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return "true" if value else "false"


def _message_class(value: Any) -> str:
    if isinstance(value, bool) or value not in (0, 1, 2, 3):
        raise ValueError("must be 0, 1, 2 or 3")
    return str(value)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


#: ``provider_options["vonage"]`` keys → (Vonage field, converter). Other SMS API fields
#: (binary ``body``/``udh``, ``protocol-id``) do not fit a text message and are refused.
OPTIONS: Mapping[str, tuple[str, Callable[[Any], str]]] = {
    "ttl": ("ttl", _ttl),
    "status_report_req": ("status-report-req", _flag),
    "message_class": ("message-class", _message_class),
    "account_ref": ("account-ref", _text),
    "entity_id": ("entity-id", _text),
    "content_id": ("content-id", _text),
    "pool_id": ("pool-id", _text),
    "trusted_number": ("trusted-number", _flag),
}


def request_params(message: SmsMessage, *, idempotency_key: str, provider: str) -> dict[str, str]:
    """The form fields describing ``message`` (without ``api_key``/``api_secret``/``sig``)."""
    if message.media_urls:
        raise UnsupportedFeature(
            "Vonage's SMS API sends text only; media_urls need an MMS-capable provider",
            feature="media",
            provider=provider,
        )
    if message.sender is None:
        raise InvalidRequest("a Vonage message needs a sender", field="sender", provider=provider)
    params = {
        "from": message.sender.removeprefix("+"),
        "to": message.to.removeprefix("+"),
        "text": message.body,
        "type": "unicode" if message.encoding == "UCS-2" else "text",
    }
    if message.status_callback is not None:
        callback = str(message.status_callback)
        if len(callback) > CALLBACK_LIMIT:
            raise InvalidRequest(
                f"Vonage accepts a status_callback of at most {CALLBACK_LIMIT} characters; "
                f"this one has {len(callback)}: use a shorter URL",
                field="status_callback",
                provider=provider,
            )
        params["callback"] = callback
        params["status-report-req"] = "true"
    reference = _client_ref(message.metadata, idempotency_key, provider)
    if reference is not None:
        params["client-ref"] = reference
    params.update(_options(message.provider_options, provider))
    return params


def _client_ref(metadata: Mapping[str, str], key: str, provider: str) -> str | None:
    if not metadata:
        # A key too long to fit is not a message field: it stays with the hub, nothing is lost.
        return key if len(key) <= CLIENT_REF_LIMIT else None
    encoded = urlencode(sorted(metadata.items()))
    if len(encoded) > CLIENT_REF_LIMIT:
        raise InvalidRequest(
            f"Vonage carries metadata in client-ref, at most {CLIENT_REF_LIMIT} characters; "
            f"yours encodes to {len(encoded)} ({encoded[:40]}...): keep it to a short id",
            field="metadata",
            provider=provider,
        )
    return encoded


def decode_client_ref(value: str) -> dict[str, str] | None:
    """The metadata a ``client-ref`` carries, or None when it holds a plain reference."""
    if "=" not in value:
        return None
    try:
        return dict(parse_qsl(value, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return None


def _options(options: Mapping[str, Mapping[str, Any]], provider: str) -> dict[str, str]:
    """Vonage's own options; other vendors' sections are for other providers in the chain."""
    fields: dict[str, str] = {}
    for name, value in options.get("vonage", {}).items():
        known = OPTIONS.get(name)
        where = f"provider_options.vonage.{name}"
        if known is None:
            raise InvalidRequest(
                f"{where} is not an SMS API option; use one of {', '.join(sorted(OPTIONS))}",
                field=where,
                provider=provider,
            )
        field, convert = known
        try:
            fields[field] = convert(value)
        except ValueError as exc:
            raise InvalidRequest(f"{where} {exc}", field=where, provider=provider) from None
    return fields
