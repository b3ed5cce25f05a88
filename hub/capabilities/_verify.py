"""Phone verification over any SMS provider: one-time codes kept only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from hub.errors import HubError, InvalidRequest, RateLimited

if TYPE_CHECKING:
    from hub.capabilities.sms import SmsReceipt
    from hub.state import StateStore

__all__ = [
    "VerificationResult",
    "VerificationStarted",
    "VerificationStatus",
    "Verifier",
    "positive_seconds",
]

#: ``expired`` means no code is pending for the number: it expired, was used, or never existed.
VerificationStatus = Literal["approved", "incorrect", "expired", "too_many_attempts"]

logger = logging.getLogger("hub.sms")


class VerificationStarted(BaseModel):
    """A code is on its way. It is never part of this result."""

    model_config = ConfigDict(frozen=True)

    to: str
    channel: str
    provider: str
    expires_at: datetime | None = None
    max_checks: int | None = None
    #: The hub's id of the message that carried the code (built-in verifier).
    message_id: str | None = None


class VerificationResult(BaseModel):
    """The answer to one check; truthy only when approved, so ``if await check(...)`` works."""

    model_config = ConfigDict(frozen=True)

    to: str
    status: VerificationStatus
    attempts_remaining: int | None = None

    @property
    def valid(self) -> bool:
        return self.status == "approved"

    def __bool__(self) -> bool:
        return self.valid


_Send = Callable[[str, str, "str | None"], Awaitable["SmsReceipt"]]


def positive_seconds(value: float | timedelta, name: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        raise InvalidRequest(f"{name} must be a positive number of seconds", field=name)
    return seconds


class Verifier:
    """One-time codes over any SMS provider, kept in the state store as keyed hashes only.

    Checks are counted with the store's atomic ``incr`` and an approval is claimed with its
    atomic ``add``, so concurrent guesses from any number of processes cannot exceed the limit
    and a code is approved once even when checked twice at the same moment.
    """

    def __init__(self, state: StateStore, send: _Send) -> None:
        self._state = state
        self._send = send

    async def start(
        self,
        number: str,
        *,
        expires_in: float,
        max_checks: int,
        resend_after: float,
        template: str,
        sender: str | None,
    ) -> VerificationStarted:
        if max_checks < 1:
            raise InvalidRequest("max_checks must be at least 1", field="max_checks")
        if "{code}" not in template:
            raise InvalidRequest("template must contain '{code}'", field="template")
        key = await self._key()
        ref = _ref(key, number)
        cooldown = f"{ref}:cooldown"
        now = time.time()
        if not await self._state.add(cooldown, str(now + resend_after).encode(), ttl=resend_after):
            raise _too_soon(number, resend_after, await self._state.get(cooldown))
        code = f"{secrets.randbelow(1_000_000):06d}"
        nonce = secrets.token_hex(8)
        record = {
            "nonce": nonce,
            "digest": _digest(key, nonce, code),
            "ttl": expires_in,
            "max_checks": max_checks,
        }
        await self._state.set(f"{ref}:code", json.dumps(record).encode(), ttl=expires_in)
        try:
            receipt = await self._send(number, template.replace("{code}", code), sender)
        except Exception:
            # Nothing reached the phone: let the user ask again at once.
            await self._state.delete(f"{ref}:code")
            await self._state.delete(cooldown)
            raise
        logger.debug("sms verification started for %s (expires in %g s)", number, expires_in)
        return VerificationStarted(
            to=number,
            channel="sms",
            provider=receipt.provider,
            expires_at=datetime.fromtimestamp(now + expires_in, UTC),
            max_checks=max_checks,
            message_id=receipt.id,
        )

    async def check(self, number: str, code: str) -> VerificationResult:
        key = await self._key()
        ref = _ref(key, number)
        stored = await self._state.get(f"{ref}:code")
        if stored is None:
            return _result(number, "expired", None)
        record: dict[str, Any] = json.loads(stored)
        nonce, ttl = str(record["nonce"]), float(record["ttl"])
        max_checks = int(record["max_checks"])
        # Keys of one verification carry its nonce, so a new code starts with a clean count.
        checks = await self._state.incr(f"{ref}:{nonce}:checks", ttl=ttl)
        if checks > max_checks:
            return _result(number, "too_many_attempts", 0)
        if hmac.compare_digest(_digest(key, nonce, code), str(record["digest"])):
            if await self._state.add(f"{ref}:{nonce}:used", b"1", ttl=ttl):
                await self._state.delete(f"{ref}:code")
                return _result(number, "approved", None)
            return _result(number, "expired", None)
        left = max_checks - checks
        return _result(number, "incorrect" if left else "too_many_attempts", left)

    async def _key(self) -> bytes:
        """The hub's HMAC key, created once in the state store so every process shares it."""
        stored = await self._state.get(_KEY_NAME)
        if stored is None:
            await self._state.add(_KEY_NAME, secrets.token_bytes(32))
            stored = await self._state.get(_KEY_NAME)
        if stored is None:
            raise HubError("the state store did not keep the verification key; check its health")
        return stored


#: State keys: the store adds its own prefix (``state.prefix``) where it is shared.
_KEY_NAME = "sms:verify:key"


def _ref(key: bytes, number: str) -> str:
    # State keys carry a keyed hash of the number, not the number itself.
    tag = hmac.new(key, b"number:" + number.encode(), hashlib.sha256).hexdigest()[:32]
    return f"sms:verify:{tag}"


def _result(number: str, status: VerificationStatus, left: int | None) -> VerificationResult:
    logger.debug("sms verification check for %s: %s", number, status)
    return VerificationResult(to=number, status=status, attempts_remaining=left)


def _too_soon(number: str, resend_after: float, until: bytes | None) -> RateLimited:
    wait = max(0.0, float(until) - time.time()) if until else 0.0
    return RateLimited(
        f"a verification code was sent to {number} less than {resend_after:g} s ago; "
        f"wait {wait:.1f} s before asking for another",
        provider="verify",
        retry_after=wait,
    )


def _digest(key: bytes, nonce: str, code: str) -> str:
    return hmac.new(key, f"code:{nonce}:{code}".encode(), hashlib.sha256).hexdigest()
