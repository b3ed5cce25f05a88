"""SMS: the message model, the provider protocols and the ``hub.sms`` facade.

Besides sending, the facade verifies phone numbers. A provider declaring the ``verification``
feature (a vendor's own verify API) is used natively; otherwise a built-in verifier sends a
one-time code through whichever SMS provider is configured and keeps only a keyed hash of it
in the state store, so several processes sharing a store agree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal, Protocol, cast, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from hub.capabilities._batch import SendResult, send_many
from hub.capabilities._models import Receipt, parse_input
from hub.capabilities._phone import (
    _EXAMPLE,
    PhoneNumber,
    Sender,
    SmsEncoding,
    count_segments,
    normalize_phone_number,
    normalize_sender,
    sms_encoding,
)
from hub.capabilities._service import Service, new_idempotency_key
from hub.capabilities._verify import (
    VerificationResult,
    VerificationStarted,
    VerificationStatus,
    Verifier,
    positive_seconds,
)
from hub.errors import HubError, InvalidRequest, UnsupportedFeature

__all__ = [
    "FEATURES",
    "BatchSmsProvider",
    "PhoneNumber",
    "Sender",
    "SmsEncoding",
    "SmsMessage",
    "SmsProvider",
    "SmsReceipt",
    "SmsSendResult",
    "SmsService",
    "SmsStatus",
    "VerificationResult",
    "VerificationStarted",
    "VerificationStatus",
    "VerifyingSmsProvider",
    "count_segments",
    "normalize_phone_number",
    "normalize_sender",
    "sms_encoding",
]

logger = logging.getLogger("hub.sms")

#: Optional features an SMS provider may declare in its ProviderSpec. ``sender_pool``: the
#: vendor picks the sender itself (a Twilio Messaging Service), so a message may have none.
FEATURES = frozenset(
    {"batch", "media", "status_callback", "alphanumeric_sender", "verification", "sender_pool"}
)

SmsStatus = Literal["queued", "sent", "delivered", "undelivered", "failed", "unknown"]

# -- models -----------------------------------------------------------------------------------


class SmsMessage(BaseModel):
    """One text message. ``sender`` is optional when ``sms.default_sender`` is configured, or
    when the provider picks senders from a pool (the ``sender_pool`` feature)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    to: PhoneNumber
    #: Left out of the repr: bodies carry one-time codes and personal data.
    body: str = Field(min_length=1, max_length=1600, repr=False)
    sender: Sender | None = None
    media_urls: list[HttpUrl] = Field(default_factory=list)
    status_callback: HttpUrl | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    #: Vendor-specific options, passed through untouched: ``{"twilio": {"validity_period": 60}}``.
    provider_options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the body is blank; give the text to send")
        return value

    @property
    def encoding(self) -> SmsEncoding:
        return sms_encoding(self.body)

    @property
    def segments(self) -> int:
        return count_segments(self.body)

    @property
    def alphanumeric_sender(self) -> bool:
        return self.sender is not None and not self.sender.startswith("+")

    def required_features(self) -> set[str]:
        """The optional provider features this message needs."""
        needed = set()
        if self.media_urls:
            needed.add("media")
        if self.status_callback is not None:
            needed.add("status_callback")
        if self.alphanumeric_sender:
            needed.add("alphanumeric_sender")
        if self.sender is None:
            needed.add("sender_pool")
        return needed


class SmsReceipt(Receipt):
    """The outcome of one send: the vendor's message id, its status and the billed segments."""

    idempotency_key: str
    to: str
    status: SmsStatus = "queued"
    segments: int = Field(1, ge=1)
    attempts: int = 1

    @property
    def provider_message_id(self) -> str | None:
        return self.provider_id


SmsSendResult = SendResult[SmsReceipt]


# -- provider protocols -----------------------------------------------------------------------


@runtime_checkable
class SmsProvider(Protocol):
    """What an SMS vendor implements. Optional extras below, each behind a feature."""

    async def send(self, message: SmsMessage, *, idempotency_key: str) -> SmsReceipt: ...

    async def aclose(self) -> None: ...


class BatchSmsProvider(SmsProvider, Protocol):
    """With the ``batch`` feature: many messages in one vendor call, one outcome each."""

    async def send_many(
        self, messages: Sequence[SmsMessage], *, idempotency_keys: Sequence[str]
    ) -> list[SmsReceipt | HubError]: ...


class VerifyingSmsProvider(SmsProvider, Protocol):
    """With the ``verification`` feature: the vendor generates, sends and checks codes."""

    async def start_verification(self, to: str, *, channel: str) -> VerificationStarted: ...

    async def check_verification(self, to: str, code: str) -> VerificationResult: ...


# -- the facade -------------------------------------------------------------------------------

_DEFAULT_TEMPLATE = "Your verification code is {code}"
MessageInput = SmsMessage | Mapping[str, Any]


class SmsService(Service[SmsProvider]):
    """``hub.sms``: validates, fills the default sender, sends, and verifies phone numbers."""

    capability = "sms"

    async def send(
        self,
        to: str | MessageInput,
        body: str | None = None,
        sender: str | None = None,
        *,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> SmsReceipt:
        """Send one message: ``send("+14155550100", "Hi")`` or ``send(SmsMessage(...))``.

        ``options`` are further SmsMessage fields: media_urls, status_callback, metadata,
        provider_options.
        """
        msg = self._prepare(to, body, sender, options)
        key = idempotency_key or new_idempotency_key()
        return await self._call(
            "send",
            lambda provider: provider.send(msg, idempotency_key=key),
            idempotency_key=key,
            # Only a caller's own key can come back; remembering generated ones is pure cost.
            remember_key=idempotency_key is not None,
            result_type=SmsReceipt,
            features=msg.required_features(),
        )

    async def send_many(
        self,
        messages: Sequence[MessageInput],
        *,
        concurrency: int = 10,
        idempotency_keys: Sequence[str] | None = None,
    ) -> list[SmsSendResult]:
        """Send many messages; one result per message, in order, never raising for one.

        An invalid message gets its InvalidRequest as its result and the others still go.
        Uses the provider's batch API where it has one, otherwise ``concurrency`` sends at once.
        Pass ``idempotency_keys`` (one per message) to make the whole call safe to repeat.
        """
        return await send_many(
            self,
            messages,
            prepare=lambda message: self._prepare(message, None, None, {}),
            features=lambda message: message.required_features(),
            send=lambda message, key: self.send(message, idempotency_key=key),
            concurrency=concurrency,
            idempotency_keys=idempotency_keys,
        )

    def _prepare(
        self,
        to: str | MessageInput,
        body: str | None,
        sender: str | None,
        options: Mapping[str, Any],
    ) -> SmsMessage:
        if isinstance(to, SmsMessage | Mapping):
            if body is not None or sender is not None or options:
                raise InvalidRequest("pass either a message or to/body/sender fields, not both")
            data: Any = to
        else:
            fields = {"to": to, "body": body, "sender": sender}
            data = {**{k: v for k, v in fields.items() if v is not None}, **options}
        msg = parse_input(SmsMessage, data, what="sms message")
        if msg.sender is None:
            msg = msg.model_copy(update={"sender": self._default_sender()})
        return msg

    def _default_sender(self) -> str | None:
        """The configured default; None (the vendor picks) where a provider has a pool."""
        configured = getattr(self._settings, "default_sender", None)
        if not configured:
            if any("sender_pool" in bound.spec.features for bound in self._providers):
                return None  # required_features() then sends it only to such a provider
            raise InvalidRequest(
                "the message has no sender and no default sender is configured; pass sender= "
                f"(an E.164 number like {_EXAMPLE} or an id like 'Acme') or set "
                "HUB_SMS__DEFAULT_SENDER",
                field="sender",
            )
        try:
            return normalize_sender(configured)
        except InvalidRequest as exc:
            raise InvalidRequest(
                f"HUB_SMS__DEFAULT_SENDER is invalid: {exc.message}", field="default_sender"
            ) from None

    @property
    def outbox(self) -> list[SmsMessage]:
        """Messages the primary provider has accepted, where it keeps them (fake, local)."""
        outbox = getattr(self.provider, "outbox", None)
        if outbox is None:
            raise AttributeError(f"sms provider {self.providers[0]!r} keeps no outbox")
        return list(outbox)

    # -- phone verification -------------------------------------------------------------------

    async def start_verification(
        self,
        to: str,
        channel: str = "sms",
        *,
        expires_in: float | timedelta = 600.0,
        max_checks: int = 5,
        resend_after: float | timedelta = 30.0,
        template: str = _DEFAULT_TEMPLATE,
        sender: str | None = None,
    ) -> VerificationStarted:
        """Send a one-time code to ``to``; confirm it with :meth:`check_verification`.

        The keyword options shape the built-in verifier: a code lives ``expires_in`` seconds,
        survives ``max_checks`` wrong guesses, and a new one can be asked for after
        ``resend_after`` seconds. ``template`` must contain ``{code}``. A provider with the
        ``verification`` feature applies its own vendor-side settings instead.
        """
        number = normalize_phone_number(to)
        if self._native():
            return await self._call(
                "start_verification",
                lambda p: cast(VerifyingSmsProvider, p).start_verification(number, channel=channel),
                features={"verification"},
            )
        if channel != "sms":
            raise UnsupportedFeature(
                f"the built-in verifier sends codes by sms only; channel {channel!r} needs an "
                "sms provider with the 'verification' feature",
                feature="verification",
                provider=self.providers[0],
            )
        return await self._verifier().start(
            number,
            expires_in=positive_seconds(expires_in, "expires_in"),
            max_checks=max_checks,
            resend_after=positive_seconds(resend_after, "resend_after"),
            template=template,
            sender=sender,
        )

    async def check_verification(self, to: str, code: str) -> VerificationResult:
        """Check a code the user typed; each wrong code counts against the limit."""
        number = normalize_phone_number(to)
        if not isinstance(code, str):
            raise InvalidRequest("the code must be a string of digits", field="code")
        typed = code.strip().replace(" ", "").replace("-", "")
        if self._native():
            return await self._call(
                "check_verification",
                lambda p: cast(VerifyingSmsProvider, p).check_verification(number, typed),
                features={"verification"},
            )
        if not typed.isascii() or not typed.isdigit():
            raise InvalidRequest(
                "the code must be the digits from the message (spaces and dashes are ignored)",
                field="code",
            )
        return await self._verifier().check(number, typed)

    def _native(self) -> bool:
        return "verification" in self._providers[0].spec.features

    def _verifier(self) -> Verifier:
        return Verifier(self._runtime.state, self.send)
