"""Twilio Programmable Messaging over ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

Requests are form-encoded and authenticated with HTTP basic auth: ``API key SID:secret`` when
an API key is configured, else ``Account SID:auth token``. Twilio has no idempotency key for
messages, so the hub remembers keys itself, and no batch API, so ``send_many`` is the hub's
concurrent sends (the provider does not declare ``batch``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from hub.capabilities.sms import SmsMessage, SmsReceipt
from hub.errors import AuthenticationError, HubError, NotFound, RateLimited
from hub.http import HttpProvider
from hub_twilio.errors import AUTHENTICATION, INVALID, NOT_FOUND, RATE_LIMITED
from hub_twilio.mapping import message_form, receipt
from hub_twilio.settings import API_URL, TwilioSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["TwilioSmsProvider"]


class TwilioSmsProvider(HttpProvider):
    """The ``twilio`` SMS provider; also the base of ``twilio_verify``."""

    base_url: ClassVar[str] = API_URL
    idempotency_header: ClassVar[str | None] = None  # Twilio has none; the hub remembers keys

    def __init__(self, settings: TwilioSettings, context: ProviderContext) -> None:
        user, password = settings.credentials()
        super().__init__(
            context, base_url=settings.base_url, auth=(user, password), secrets=[password]
        )
        self.settings = settings
        account = settings.require_account_sid()
        self._messages = f"/2010-04-01/Accounts/{account}/Messages.json"

    async def send(self, message: SmsMessage, *, idempotency_key: str) -> SmsReceipt:
        callback = self.settings.status_callback
        form = message_form(
            message,
            provider=self.name,
            messaging_service_sid=self.settings.messaging_service_sid,
            status_callback=str(callback) if callback else None,
        )
        response = await self.request("POST", self._messages, data=form, expected=(200, 201))
        return receipt(self.name, message, idempotency_key, self.answer(response))

    def answer(self, response: httpx.Response) -> dict[str, Any]:
        """A success's JSON object (see ``HttpProvider.json_object``); verify.py reads it too."""
        return self.json_object(response)

    # -- Twilio's error body: {"code", "message", "more_info", "status"} -----------------

    def map_error(self, response: httpx.Response) -> HubError | None:
        code = _code(self.vendor_code(response))
        if code is not None and code in INVALID:
            field, hint = INVALID[code]
            return self.invalid_request(response, field=field, hint=hint)
        if code in RATE_LIMITED or response.status_code == 429:
            retryable = RATE_LIMITED.get(code, True) if code is not None else True
            later = None if retryable else "asking again now cannot help"
            return self.provider_error(RateLimited, response, hint=later, retryable=retryable)
        if code == AUTHENTICATION:
            return self.provider_error(
                AuthenticationError,
                response,
                hint="check TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN, or the API key and its "
                "secret",
            )
        if code == NOT_FOUND:
            return self.provider_error(NotFound, response)
        return None  # the status decides (hub.http's defaults)


def _code(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None
