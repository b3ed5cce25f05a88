"""SMS: the message model, the provider protocols and the ``hub.sms`` facade.

Besides sending, the facade verifies phone numbers. A provider declaring the ``verification``
feature (a vendor's own verify API) is used natively; otherwise a built-in verifier sends a
one-time code through whichever SMS provider is configured and keeps only a keyed hash of it
in the state store, so several processes sharing a store agree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, cast, runtime_checkable

import anyio
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, field_validator

from hub.capabilities._models import Receipt, parse_input
from hub.capabilities._service import Service, new_idempotency_key
from hub.errors import HubError, InvalidRequest, RateLimited, UnsupportedFeature

if TYPE_CHECKING:
    from hub.state import StateStore

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

#: Optional features an SMS provider may declare in its ProviderSpec.
FEATURES = frozenset({"batch", "media", "status_callback", "alphanumeric_sender", "verification"})

SmsStatus = Literal["queued", "sent", "delivered", "undelivered", "failed", "unknown"]
SmsEncoding = Literal["GSM-7", "UCS-2"]
#: ``expired`` means no code is pending for the number: it expired, was used, or never existed.
VerificationStatus = Literal["approved", "incorrect", "expired", "too_many_attempts"]

# -- phone numbers and senders ----------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_SEPARATORS = str.maketrans("", "", " -()")
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")
_EXAMPLE = "'+14155550100'"


def normalize_phone_number(value: object, *, field: str = "to") -> str:
    """The E.164 form of ``value`` (spaces, dashes and parentheses dropped), or InvalidRequest."""
    if not isinstance(value, str):
        raise InvalidRequest(
            f"a phone number must be a string like {_EXAMPLE}, not {type(value).__name__}",
            field=field,
        )
    compact = value.strip().translate(_SEPARATORS)
    if _E164.fullmatch(compact):
        return compact
    digits = compact[1:] if compact.startswith("+") else compact
    stray = next((c for c in digits if not ("0" <= c <= "9")), None)
    if stray is not None:
        reason = f"it contains {stray!r}"
    elif not compact.startswith("+"):
        reason = "it must start with '+' and the country code"
    elif digits.startswith("0"):
        reason = "a country code never starts with 0"
    else:
        reason = f"it has {len(digits)} digits where E.164 allows 8 to 15"
    raise InvalidRequest(
        f"{value!r} is not an E.164 phone number ({reason}); write '+', the country code and "
        f"the number, e.g. {_EXAMPLE}",
        field=field,
    )


def normalize_sender(value: object) -> str:
    """An E.164 number, or an alphanumeric sender id of 1-11 letters, digits or spaces."""
    if isinstance(value, str) and any("a" <= c.lower() <= "z" for c in value):
        text = value.strip()
        if _ALPHANUMERIC_SENDER.fullmatch(text):
            return text
        raise InvalidRequest(
            f"{value!r} is not a valid alphanumeric sender id: use 1 to 11 letters, digits or "
            f"spaces (at least one letter), e.g. 'Acme', or an E.164 number like {_EXAMPLE}",
            field="sender",
        )
    try:
        return normalize_phone_number(value, field="sender")
    except InvalidRequest as exc:
        raise InvalidRequest(
            f"{exc.message}; a sender may also be an alphanumeric id such as 'Acme'",
            field="sender",
        ) from None


#: A phone number, validated and normalized to E.164 (``+14155550100``).
PhoneNumber = Annotated[str, BeforeValidator(normalize_phone_number)]
#: An E.164 number or an alphanumeric sender id (needs the ``alphanumeric_sender`` feature).
Sender = Annotated[str, BeforeValidator(normalize_sender)]

# -- segments ---------------------------------------------------------------------------------

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters GSM-7 sends as an escape plus a character: two septets each.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def sms_encoding(body: str) -> SmsEncoding:
    """GSM-7 when every character is in the GSM alphabet, else UCS-2."""
    gsm = all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in body)
    return "GSM-7" if gsm else "UCS-2"


def count_segments(body: str) -> int:
    """How many SMS segments the body is billed as (160/153 GSM-7 septets, 70/67 UCS-2 units).

    A long message loses room in each segment to its concatenation header, and neither an
    escaped GSM character nor a UTF-16 surrogate pair is split across segments.
    """
    if sms_encoding(body) == "GSM-7":
        weights = [2 if c in _GSM7_EXTENSION else 1 for c in body]
        single, part = 160, 153
    else:
        weights = [len(c.encode("utf-16-le")) // 2 for c in body]
        single, part = 70, 67
    if sum(weights) <= single:
        return 1
    segments, used = 1, 0
    for weight in weights:
        if used + weight > part:
            segments, used = segments + 1, 0
        used += weight
    return segments


# -- models -----------------------------------------------------------------------------------


class SmsMessage(BaseModel):
    """One text message. ``sender`` is optional when ``sms.default_sender`` is configured."""

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


class SmsSendResult(BaseModel):
    """One message of a ``send_many``: a receipt, or the error that message met."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    index: int
    receipt: SmsReceipt | None = None
    error: HubError | None = None

    @property
    def ok(self) -> bool:
        return self.receipt is not None


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
            remember_key=True,
            features=msg.required_features(),
        )

    async def send_many(
        self,
        messages: Sequence[MessageInput],
        *,
        concurrency: int = 10,
        idempotency_keys: Sequence[str] | None = None,
    ) -> list[SmsSendResult]:
        """Send many messages; one SmsSendResult per message, in order, never raising for one.

        An invalid message gets its InvalidRequest as its result and the others still go.
        Uses the provider's batch API where it has one, otherwise ``concurrency`` sends at once.
        Pass ``idempotency_keys`` (one per message) to make the whole call safe to repeat.
        """
        if concurrency < 1:
            raise InvalidRequest("concurrency must be at least 1", field="concurrency")
        if idempotency_keys is not None and len(idempotency_keys) != len(messages):
            raise InvalidRequest(
                f"got {len(idempotency_keys)} idempotency keys for {len(messages)} messages; "
                "pass one key per message",
                field="idempotency_keys",
            )
        keys = list(idempotency_keys or (new_idempotency_key() for _ in messages))
        results: list[SmsSendResult | None] = [None] * len(messages)
        ready: list[tuple[int, SmsMessage]] = []
        for index, message in enumerate(messages):
            try:
                ready.append((index, self._prepare(message, None, None, {})))
            except InvalidRequest as exc:
                results[index] = SmsSendResult(index=index, error=exc)
        needed: set[str] = set().union(*(m.required_features() for _, m in ready))
        if ready and {"batch", *needed} <= self._providers[0].spec.features:
            await self._send_batch(ready, keys, needed, results)
        else:
            await self._send_each(ready, keys, concurrency, results)
        return [r for r in results if r is not None]

    async def _send_batch(
        self,
        ready: list[tuple[int, SmsMessage]],
        keys: list[str],
        needed: set[str],
        results: list[SmsSendResult | None],
    ) -> None:
        msgs = [m for _, m in ready]
        batch_keys = [keys[i] for i, _ in ready]

        async def batch(provider: SmsProvider) -> list[SmsReceipt | HubError]:
            batcher = cast(BatchSmsProvider, provider)
            return await batcher.send_many(msgs, idempotency_keys=batch_keys)

        try:
            outcomes: list[SmsReceipt | HubError] = await self._call(
                "send_many", batch, idempotency_key=batch_keys[0], features={"batch", *needed}
            )
        except HubError as exc:
            outcomes = [exc] * len(ready)
        for (index, _), outcome in zip(ready, outcomes, strict=True):
            if isinstance(outcome, HubError):
                results[index] = SmsSendResult(index=index, error=outcome)
            else:
                results[index] = SmsSendResult(index=index, receipt=outcome)

    async def _send_each(
        self,
        ready: list[tuple[int, SmsMessage]],
        keys: list[str],
        concurrency: int,
        results: list[SmsSendResult | None],
    ) -> None:
        limiter = anyio.CapacityLimiter(concurrency)

        async def one(index: int, message: SmsMessage) -> None:
            async with limiter:
                try:
                    receipt = await self.send(message, idempotency_key=keys[index])
                    results[index] = SmsSendResult(index=index, receipt=receipt)
                except HubError as exc:
                    results[index] = SmsSendResult(index=index, error=exc)

        async with anyio.create_task_group() as group:
            for index, message in ready:
                group.start_soon(one, index, message)

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

    def _default_sender(self) -> str:
        configured = getattr(self._settings, "default_sender", None)
        if not configured:
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
            expires_in=_seconds(expires_in, "expires_in"),
            max_checks=max_checks,
            resend_after=_seconds(resend_after, "resend_after"),
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

    def _verifier(self) -> _Verifier:
        return _Verifier(self._runtime.state, self.send)


_Send = Callable[[str, str, "str | None"], Awaitable[SmsReceipt]]


def _seconds(value: float | timedelta, name: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        raise InvalidRequest(f"{name} must be a positive number of seconds", field=name)
    return seconds


class _Verifier:
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
