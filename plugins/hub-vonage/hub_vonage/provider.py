"""Vonage SMS over ``POST https://rest.nexmo.com/sms/json``, on :class:`hub.http.HttpProvider`.

The request is a form: the message fields (see :mod:`hub_vonage.mapping`) plus ``api_key`` and
either ``api_secret`` or, with a signature secret, ``timestamp`` and ``sig``. Vonage answers
HTTP 200 whatever happened, with one entry per message part::

    {"message-count": "2", "messages": [{"to": "447700900000", "message-id": "0A00...",
      "status": "0", "remaining-balance": "3.14", "message-price": "0.0333", "network": "23410"},
      ...]}

A non-zero ``status`` is an error (see :mod:`hub_vonage.statuses`). The receipt's
``provider_id`` is the first part's id, ``segments`` is ``message-count`` and ``raw`` keeps
the whole answer plus every part's id. Vonage has no idempotency key: the hub remembers keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from hub.capabilities.sms import SmsMessage, SmsReceipt
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    Unavailable,
)
from hub.http import HttpProvider
from hub_vonage.mapping import request_params
from hub_vonage.settings import DEFAULT_BASE_URL, VonageSettings
from hub_vonage.signing import sign_params
from hub_vonage.statuses import Status, status_of

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["VonageSmsProvider"]

_PATH = "/sms/json"
Part = Mapping[str, Any]


class VonageSmsProvider(HttpProvider):
    """The ``vonage`` SMS provider."""

    base_url = DEFAULT_BASE_URL
    idempotency_header = None  # the SMS API has none; the hub's guard remembers keys

    def __init__(self, settings: VonageSettings, context: ProviderContext) -> None:
        credentials = settings.credentials()
        secrets = [s for s in (credentials.api_secret, credentials.signature_secret) if s]
        super().__init__(
            context,
            base_url=settings.base_url,
            headers={"Accept": "application/json"},
            secrets=secrets,
        )
        self._credentials = credentials
        self._clock = context.runtime.clock

    async def send(self, message: SmsMessage, *, idempotency_key: str) -> SmsReceipt:
        params = request_params(message, idempotency_key=idempotency_key, provider=self.name)
        response = await self.request(
            "POST", _PATH, data=self._authenticate(params), expected=(200,)
        )
        body, parts = self._accepted(response)
        ids = [str(part["message-id"]) for part in parts]
        return SmsReceipt(
            provider=self.name,
            provider_id=ids[0],
            idempotency_key=idempotency_key,
            to=message.to,
            status="queued",
            segments=_count(body.get("message-count"), len(parts)),
            raw={**body, "message_ids": ids},
        )

    def _authenticate(self, params: dict[str, str]) -> dict[str, str]:
        """Add the credentials: the API secret, or a signature over every field."""
        credentials = self._credentials
        fields = {"api_key": credentials.api_key, **params}
        if credentials.signature_secret is None:
            return {**fields, "api_secret": credentials.api_secret or ""}
        return sign_params(
            fields,
            secret=credentials.signature_secret,
            method=credentials.signature_method,
            timestamp=int(self._clock.now()),
        )

    def _accepted(self, response: httpx.Response) -> tuple[dict[str, Any], list[Part]]:
        """The answer and its parts, all accepted; else the error of the first refused one."""
        body = _body(response)
        parts = _parts(body)
        if not parts or any(str(p.get("status")) == "0" and not p.get("message-id") for p in parts):
            raw = self.provider_error(ProviderError, response).raw
            raise ProviderError(
                f"{self.name}: unexpected answer to POST {_PATH} (HTTP {response.status_code}): "
                "no message parts with ids; the message may have been sent, so it is not "
                "retried (the answer is in .raw)",
                provider=self.name,
                status=response.status_code,
                retryable=False,
                failover_safe=False,
                raw=raw,
            )
        refused = next((i for i, p in enumerate(parts) if str(p.get("status")) != "0"), None)
        if refused is not None:
            raise self._refused(response, parts, refused)
        return body, parts

    def _refused(self, response: httpx.Response, parts: list[Part], index: int) -> HubError:
        said = self.provider_error(ProviderError, response)
        status = status_of(str(parts[index].get("status")))
        common: dict[str, Any] = {
            "provider": self.name,
            "vendor_code": said.vendor_code,
            "raw": said.raw,
        }
        accepted = [str(p["message-id"]) for p in parts[:index] if p.get("message-id")]
        if accepted:
            return ProviderError(
                f"{said.message}; part {index + 1} of {len(parts)} was refused after "
                f"{len(accepted)} part(s) were accepted ({', '.join(accepted)}): the recipient "
                "may get part of the message, so it is neither retried nor failed over",
                status=response.status_code,
                retryable=False,
                failover_safe=False,
                **common,
            )
        message = said.message + (f"; {status.hint}" if status.hint else "")
        return _error(status, message, response.status_code, common)

    # -- the error hooks read the first refused part of a 200 answer ----------------------

    def error_message(self, response: httpx.Response) -> str:
        part = _first_refused(response)
        if part is None:
            return super().error_message(response)
        status = status_of(str(part.get("status")))
        text = part.get("error-text")
        return f"{status.meaning}: {text}" if isinstance(text, str) and text else status.meaning

    def vendor_code(self, response: httpx.Response) -> str | None:
        part = _first_refused(response)
        return str(part.get("status")) if part is not None else super().vendor_code(response)


def _error(status: Status, message: str, http_status: int, common: dict[str, Any]) -> HubError:
    """The hub error for a refused message part: nothing was sent for it."""
    if status.kind == "invalid":
        return InvalidRequest(
            message + "; fix the input, the same request will fail again",
            field=status.field,
            **common,
        )
    fields = {**common, "status": http_status}
    if status.kind == "rate_limited":
        return RateLimited(message, **fields)
    if status.kind == "auth":
        return AuthenticationError(message, **fields)
    if status.kind == "unavailable":
        return Unavailable(message, failover_safe=True, **fields)
    if status.kind == "refused":
        return ProviderError(message, retryable=False, failover_safe=True, **fields)
    return ProviderError(
        message + "; an undocumented status, so it is not retried",
        retryable=False,
        failover_safe=False,
        **fields,
    )


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _parts(body: Mapping[str, Any]) -> list[Part]:
    parts = body.get("messages")
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        return []
    return parts


def _first_refused(response: httpx.Response) -> Part | None:
    return next((p for p in _parts(_body(response)) if str(p.get("status")) != "0"), None)


def _count(value: Any, parts: int) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        return max(1, parts)
    return max(1, count)
