"""Twilio Verify v2: Twilio generates, sends and checks the one-time codes.

``POST /v2/Services/{VA…}/Verifications`` (To, Channel) starts a verification and
``POST /v2/Services/{VA…}/VerificationCheck`` (To, Code) checks a code. Twilio deletes a
verification once it is approved, expired or out of checks, so a check then answers 404: the
hub reports that as ``expired``. ``send`` is inherited: the same account's Messaging API, so a
hub whose only SMS provider is ``twilio_verify`` still sends ordinary messages.

The code the user typed is sent only in the check's form body, which ``hub.http`` never puts
into an error, a log line or a repr (errors keep the vendor's answer, not our request).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.capabilities.sms import VerificationResult, VerificationStarted, VerificationStatus
from hub.errors import InvalidRequest, NotFound, RateLimited
from hub_twilio.errors import MAX_CHECK_ATTEMPTS
from hub_twilio.provider import TwilioSmsProvider
from hub_twilio.settings import TwilioSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["CHANNELS", "TwilioVerifyProvider"]

#: Channels that deliver to a phone number (Verify's email channel needs an address instead).
CHANNELS = frozenset({"sms", "call", "whatsapp"})
#: Verify's documented defaults: a code lives ten minutes and survives five checks.
CODE_LIFETIME = timedelta(minutes=10)
MAX_CHECKS = 5

_CODE = re.compile(r"[0-9A-Za-z]{4,10}")
_RESULTS: dict[str, VerificationStatus] = {
    "approved": "approved",
    "pending": "incorrect",
    "max_attempts_reached": "too_many_attempts",
    "canceled": "expired",
    "expired": "expired",
    "deleted": "expired",
    "failed": "expired",
}


class TwilioVerifyProvider(TwilioSmsProvider):
    """The ``twilio_verify`` SMS provider: Verify for codes, Messaging for ordinary sends."""

    def __init__(self, settings: TwilioSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        root = f"{settings.verify_base_url}/v2/Services/{settings.require_verify_service()}"
        # Absolute URLs: the client's base URL is the Messaging API's.
        self._verifications = f"{root}/Verifications"
        self._checks = f"{root}/VerificationCheck"

    async def start_verification(self, to: str, *, channel: str) -> VerificationStarted:
        if channel not in CHANNELS:
            raise InvalidRequest(
                f"Twilio Verify cannot send a code to a phone number by {channel!r}; use one of "
                + ", ".join(sorted(CHANNELS)),
                field="channel",
                provider=self.name,
            )
        response = await self.request(
            "POST", self._verifications, data={"To": to, "Channel": channel}, expected=(200, 201)
        )
        data = self.answer(response)
        created = _when(data.get("date_created")) or datetime.now(UTC)
        return VerificationStarted(
            to=to,
            channel=str(data.get("channel") or channel),
            provider=self.name,
            expires_at=created + CODE_LIFETIME,
            max_checks=MAX_CHECKS,
            message_id=data.get("sid") if isinstance(data.get("sid"), str) else None,
        )

    async def check_verification(self, to: str, code: str) -> VerificationResult:
        if not _CODE.fullmatch(code):
            # Never quote the code: it is a secret even when malformed.
            raise InvalidRequest(
                "the code must be the 4 to 10 letters or digits from the message",
                field="code",
                provider=self.name,
            )
        try:
            response = await self.request(
                "POST", self._checks, data={"To": to, "Code": code}, expected=(200, 201)
            )
        except NotFound:
            return VerificationResult(to=to, status="expired")
        except RateLimited as exc:
            if exc.vendor_code == str(MAX_CHECK_ATTEMPTS):
                return VerificationResult(to=to, status="too_many_attempts", attempts_remaining=0)
            raise
        status = _RESULTS.get(str(self.answer(response).get("status")), "expired")
        left = 0 if status == "too_many_attempts" else None
        return VerificationResult(to=to, status=status, attempts_remaining=left)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
