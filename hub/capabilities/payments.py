"""Payments: the payment models, the provider protocol and the ``hub.payments`` facade.

Amounts are :class:`Money` (whole minor units). Every call that moves money carries an
idempotency key, given or generated before the first attempt, and the result carries it back,
so a caller who lost the answer can repeat the call and get the same payment, never a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from hub.capabilities._models import Receipt, parse_input
from hub.capabilities._money import Money, minor_units
from hub.capabilities._service import Service, new_idempotency_key
from hub.errors import InvalidRequest, PaymentDeclined

__all__ = [
    "DECLINE_CODES",
    "FEATURES",
    "Customer",
    "Money",
    "Payment",
    "PaymentStatus",
    "PaymentsProvider",
    "PaymentsService",
    "Refund",
    "minor_units",
    "normalize_decline",
    "payment_declined",
]

#: Optional features a payments provider may declare in its ProviderSpec.
FEATURES = frozenset(
    {
        "authorize_only",
        "partial_capture",
        "partial_refund",
        "customers",
        "idempotency",
        "three_d_secure",
    }
)


#: The normalized decline codes -> what each means. ``PaymentDeclined.decline_code`` and a
#: failed ``Payment.failure_code`` are always one of these, whatever the vendor; the vendor's
#: own code stays in the error's ``vendor_code``.
DECLINE_CODES: Mapping[str, str] = MappingProxyType(
    {
        "card_declined": "the card was declined, for no more specific reason given",
        "insufficient_funds": "the card has insufficient funds",
        "expired_card": "the card has expired",
        "incorrect_cvc": "the card's security code is incorrect",
        "incorrect_number": "the card number is incorrect",
        "fraudulent": "the payment was refused as likely fraud",
        "lost_card": "the card was reported lost",
        "stolen_card": "the card was reported stolen",
        "processing_error": "the issuer could not process the payment; it may succeed later",
        "authentication_required": "the issuer wants the customer authenticated (3-D Secure)",
        "authentication_failed": "the customer failed authentication (3-D Secure)",
        "card_not_supported": "the card does not support this kind of payment",
        "currency_not_supported": "the card does not support this currency",
        "limit_exceeded": "the card's amount or frequency limit was exceeded",
    }
)
_GENERIC_DECLINE = "card_declined"


def normalize_decline(table: Mapping[str, str], *vendor_codes: str | None) -> str:
    """The normalized code for the first of ``vendor_codes`` that ``table`` maps (a plugin's
    vendor code -> :data:`DECLINE_CODES` key); ``card_declined`` for codes it does not know."""
    for code in vendor_codes:
        if code is not None and code in table:
            found = table[code]
            return found if found in DECLINE_CODES else _GENERIC_DECLINE
    return _GENERIC_DECLINE


def payment_declined(
    payment: Payment, *, vendor_code: str | None, status: int | None = None, raw: Any = None
) -> PaymentDeclined:
    """The error for a payment the vendor answered as ``failed`` (never retried)."""
    code = payment.failure_code or _GENERIC_DECLINE
    if code not in DECLINE_CODES:
        code = _GENERIC_DECLINE
    why = payment.failure_message or DECLINE_CODES[code]
    return PaymentDeclined(
        f"{payment.provider}: payment {payment.id} declined ({code}): {why}",
        provider=payment.provider,
        decline_code=code,
        vendor_code=vendor_code,
        status=status,
        raw=raw,
    )


class PaymentStatus(StrEnum):
    """Where a payment is; the same words for every vendor."""

    REQUIRES_ACTION = "requires_action"  # the customer must authenticate (3-D Secure)
    AUTHORIZED = "authorized"  # funds held, not yet captured
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELED = "canceled"  # the authorization was released
    FAILED = "failed"  # declined


class Customer(Receipt):
    """A customer at the vendor, to charge again without asking for the card again."""

    email: str | None = None
    name: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str


class Payment(Receipt):
    """One payment as it stands after the call that returned it.

    ``id`` is what to pass back to ``capture``/``cancel``/``refund``/``get``. Amounts are minor
    units of ``currency``; ``idempotency_key`` is the key of the call that last changed it.
    """

    status: PaymentStatus
    amount: int
    amount_captured: int = 0
    amount_refunded: int = 0
    currency: str
    customer: str | None = None
    payment_method: str | None = None
    capture_method: Literal["automatic", "manual"] = "automatic"
    description: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None
    #: What the customer must do next (3-D Secure), with the secret the browser SDK needs.
    next_action: dict[str, Any] | None = None
    client_secret: str | None = Field(None, repr=False)
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def money(self) -> Money:
        """The amount asked for, as Money."""
        return Money(self.amount, self.currency)

    @property
    def capturable(self) -> int:
        """Minor units that ``capture`` may still take."""
        return self.amount if self.status is PaymentStatus.AUTHORIZED else 0

    @property
    def refundable(self) -> int:
        """Minor units that ``refund`` may still return."""
        return self.amount_captured - self.amount_refunded


class Refund(Receipt):
    """One refund, and the payment as it stands after it."""

    payment_id: str
    amount: int
    currency: str
    reason: str | None = None
    idempotency_key: str
    payment: Payment


class _CustomerInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    name: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class _ChargeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str | None = Field(None, min_length=1)
    payment_method: str | None = Field(None, min_length=1)
    description: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


@runtime_checkable
class PaymentsProvider(Protocol):
    """What a payments vendor implements. Amounts arrive validated; currencies already match."""

    async def create_customer(
        self,
        email: str | None,
        name: str | None,
        metadata: dict[str, str],
        *,
        idempotency_key: str,
    ) -> Customer: ...

    async def charge(
        self,
        amount: Money,
        *,
        customer: str | None,
        payment_method: str | None,
        capture: bool,
        description: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> Payment: ...

    async def capture(
        self, payment_id: str, amount: Money | None, *, idempotency_key: str
    ) -> Payment: ...

    async def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment: ...

    async def refund(
        self, payment_id: str, amount: Money | None, *, reason: str | None, idempotency_key: str
    ) -> Refund: ...

    async def get(self, payment_id: str) -> Payment: ...

    async def aclose(self) -> None: ...


class PaymentsService(Service[PaymentsProvider]):
    """``hub.payments``: charge, capture, cancel, refund; every money move carries a key."""

    capability = "payments"

    async def create_customer(
        self,
        email: str | None = None,
        name: str | None = None,
        metadata: dict[str, str] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Customer:
        """Create a customer to charge later with ``charge(..., customer=customer.id)``."""
        data = parse_input(
            _CustomerInput,
            {"email": email, "name": name, "metadata": metadata or {}},
            what="customer",
        )
        key = idempotency_key or new_idempotency_key()
        return await self._call(
            "create_customer",
            lambda p: p.create_customer(data.email, data.name, data.metadata, idempotency_key=key),
            idempotency_key=key,
            money_moves=True,
            features=("customers",),
        )

    async def charge(
        self,
        amount: Money,
        *,
        customer: str | None = None,
        payment_method: str | None = None,
        capture: bool = True,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        """Charge ``amount``; ``capture=False`` only authorizes (capture or cancel it later).

        A decline raises PaymentDeclined (never retried); a payment that needs 3-D Secure
        comes back with status ``requires_action`` and a ``client_secret`` for the browser.
        """
        money = _money(amount)
        data = parse_input(
            _ChargeInput,
            {
                "customer": customer,
                "payment_method": payment_method,
                "description": description,
                "metadata": metadata or {},
            },
            what="charge",
        )
        key = idempotency_key or new_idempotency_key()
        features = ["authorize_only"] if not capture else []
        if data.customer is not None:
            features.append("customers")
        return await self._call(
            "charge",
            lambda p: p.charge(
                money,
                customer=data.customer,
                payment_method=data.payment_method,
                capture=capture,
                description=data.description,
                metadata=data.metadata,
                idempotency_key=key,
            ),
            idempotency_key=key,
            money_moves=True,
            features=features,
        )

    async def capture(
        self, payment_id: str, amount: Money | None = None, *, idempotency_key: str | None = None
    ) -> Payment:
        """Capture an authorized payment: all of it, or ``amount`` (the rest is released)."""
        money = None if amount is None else _money(amount)
        features: list[str] = []
        if money is not None:
            payment = await self.get(payment_id)
            _same_currency(payment, money, "capture")
            if money.amount < payment.amount:
                features.append("partial_capture")
        key = idempotency_key or new_idempotency_key()
        return await self._call(
            "capture",
            lambda p: p.capture(payment_id, money, idempotency_key=key),
            idempotency_key=key,
            money_moves=True,
            features=features,
        )

    async def cancel(self, payment_id: str, *, idempotency_key: str | None = None) -> Payment:
        """Release an authorization that was never captured (a captured one needs a refund)."""
        key = idempotency_key or new_idempotency_key()
        return await self._call(
            "cancel",
            lambda p: p.cancel(payment_id, idempotency_key=key),
            idempotency_key=key,
            money_moves=True,
        )

    async def refund(
        self,
        payment_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Refund what is left of a captured payment, or ``amount`` of it."""
        money = None if amount is None else _money(amount)
        features: list[str] = []
        if money is not None:
            payment = await self.get(payment_id)
            _same_currency(payment, money, "refund")
            if money.amount < payment.refundable:
                features.append("partial_refund")
        key = idempotency_key or new_idempotency_key()
        return await self._call(
            "refund",
            lambda p: p.refund(payment_id, money, reason=reason, idempotency_key=key),
            idempotency_key=key,
            money_moves=True,
            features=features,
        )

    async def get(self, payment_id: str) -> Payment:
        """The payment as the vendor sees it now."""
        return await self._call("get", lambda p: p.get(payment_id), idempotent=True)


def _money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, int | float | str):
        raise InvalidRequest(
            f"amount must be Money, not {type(value).__name__}: e.g. hub.Money(1999, 'EUR') "
            "for €19.99",
            field="amount",
        )
    return parse_input(Money, value, what="amount")


def _same_currency(payment: Payment, money: Money, operation: str) -> None:
    if money.currency != payment.currency:
        raise InvalidRequest(
            f"cannot {operation} {money} on payment {payment.id!r}, which is in "
            f"{payment.currency}; pass Money(..., {payment.currency!r})",
            field="amount",
        )
