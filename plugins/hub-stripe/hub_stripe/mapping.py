"""Stripe's shapes <-> the hub's: request parameters, PaymentIntents, refunds, decline codes.

Status mapping (a PaymentIntent, read with its ``latest_charge`` expanded):

============================  ===========================================================
Stripe ``status``             hub ``PaymentStatus``
============================  ===========================================================
``requires_payment_method``   ``failed`` after a decline (``last_payment_error`` set), else
                              ``requires_action`` (the browser must collect a card)
``requires_confirmation``     ``requires_action``
``requires_action``           ``requires_action``, with ``next_action`` and ``client_secret``
``processing``                ``authorized``: money is on its way but not collected yet, and
                              nothing can be captured; wait for ``payment.succeeded``
``requires_capture``          ``authorized``
``succeeded``                 ``captured``, ``partially_refunded`` or ``refunded``, from the
                              charge's ``amount_refunded`` against ``amount_received``
``canceled``                  ``canceled``
============================  ===========================================================

Amounts are minor units at both ends, except where Stripe's minor unit is not ISO 4217's
(MGA is zero-decimal at Stripe; ISK is sent with two decimals): :func:`to_stripe_amount` and
:func:`from_stripe_amount` convert.
"""

from __future__ import annotations

from typing import Any, Literal

from hub.capabilities import payments
from hub.capabilities.payments import Customer, Money, Payment, PaymentStatus, Refund
from hub.errors import InvalidRequest, ProviderError

__all__ = [
    "REFUND_REASONS",
    "charge_params",
    "customer_from",
    "from_stripe_amount",
    "normalize_decline",
    "payment_from",
    "refund_from",
    "to_stripe_amount",
    "vendor_decline",
]

#: Refund reasons Stripe accepts; anything else is refused rather than dropped.
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})

# Stripe's minor unit where it differs from ISO 4217's (https://docs.stripe.com/currencies).
_STRIPE_EXPONENT = {"MGA": 0, "ISK": 2}

# Stripe decline_code / error code -> the hub's normalized decline code (DECLINE_CODES).
_DECLINES: dict[str, str] = {
    "insufficient_funds": "insufficient_funds",
    "expired_card": "expired_card",
    "incorrect_cvc": "incorrect_cvc",
    "invalid_cvc": "incorrect_cvc",
    "incorrect_number": "incorrect_number",
    "invalid_number": "incorrect_number",
    "fraudulent": "fraudulent",
    "merchant_blacklist": "fraudulent",
    "lost_card": "lost_card",
    "stolen_card": "stolen_card",
    "processing_error": "processing_error",
    "issuer_not_available": "processing_error",
    "reenter_transaction": "processing_error",
    "try_again_later": "processing_error",
    "authentication_required": "authentication_required",
    "approve_with_id": "authentication_required",
    "card_not_supported": "card_not_supported",
    "currency_not_supported": "currency_not_supported",
    "card_velocity_exceeded": "limit_exceeded",
    "withdrawal_count_limit_exceeded": "limit_exceeded",
}
_STATUSES = {
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "requires_confirmation": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.AUTHORIZED,
    "requires_capture": PaymentStatus.AUTHORIZED,
    "canceled": PaymentStatus.CANCELED,
}


def normalize_decline(code: Any, decline_code: Any) -> str:
    """The hub's decline code for Stripe's ``decline_code`` (or ``code``); ``card_declined``
    for the generic ones (``generic_decline``, ``do_not_honor``, …) and anything unknown."""
    return payments.normalize_decline(_DECLINES, *_texts(decline_code, code))


def vendor_decline(code: Any, decline_code: Any) -> str | None:
    """Stripe's own most specific code (``decline_code``, else ``code``), kept as vendor_code."""
    return next(iter(_texts(decline_code, code)), None)


def _texts(*values: Any) -> list[str]:
    return [value for value in values if isinstance(value, str) and value]


def _exponents(currency: str) -> tuple[int, int]:
    iso = Money(1, currency).exponent
    return iso, _STRIPE_EXPONENT.get(currency.upper(), iso)


def to_stripe_amount(money: Money) -> int:
    """``money`` in Stripe's minor units; InvalidRequest if Stripe cannot express it."""
    iso, stripe = _exponents(money.currency)
    if stripe >= iso:
        return money.amount * _power(stripe - iso)
    factor = _power(iso - stripe)
    if money.amount % factor:
        raise InvalidRequest(
            f"Stripe charges {money.currency} in whole units; {money} has a fraction",
            field="amount",
            provider="stripe",
        )
    return money.amount // factor


def from_stripe_amount(amount: int, currency: str) -> int:
    """Stripe's minor units of ``currency`` as the hub's (ISO 4217) minor units."""
    iso, stripe = _exponents(currency)
    return amount * _power(iso - stripe) if iso >= stripe else amount // _power(stripe - iso)


def _power(digits: int) -> int:
    value: int = 10**digits
    return value


def charge_params(
    amount: Money,
    *,
    customer: str | None,
    payment_method: str | None,
    capture: bool,
    description: str | None,
    metadata: dict[str, str],
    return_url: str | None,
) -> dict[str, Any]:
    """``POST /v1/payment_intents`` parameters: confirmed at once when a method is given."""
    params: dict[str, Any] = {
        "amount": to_stripe_amount(amount),
        "currency": amount.currency.lower(),
        "customer": customer,
        "payment_method": payment_method,
        "capture_method": "automatic" if capture else "manual",
        "description": description,
        "metadata": metadata or None,
        "expand": ["latest_charge"],
    }
    if payment_method is not None:
        params["confirm"] = True
        if return_url is not None:
            params["return_url"] = return_url
        else:  # without a return URL only methods that need no redirect can be confirmed
            params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "never"}
    return params


def _id(value: Any) -> str | None:
    """An expandable field: the id whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return value if isinstance(value, str) else None


def _status(intent: dict[str, Any], received: int, refunded: int) -> PaymentStatus:
    status = intent.get("status")
    if status == "succeeded":
        if refunded <= 0:
            return PaymentStatus.CAPTURED
        return PaymentStatus.REFUNDED if refunded >= received else PaymentStatus.PARTIALLY_REFUNDED
    if status == "requires_payment_method":
        failed = intent.get("last_payment_error")
        return PaymentStatus.FAILED if failed else PaymentStatus.REQUIRES_ACTION
    if status in _STATUSES:
        return _STATUSES[status]
    raise ProviderError(
        f"stripe: a PaymentIntent in status {status!r}, which this plugin does not know; "
        "upgrade hub-stripe or pin an older api_version",
        provider="stripe",
        retryable=False,
        failover_safe=False,
    )


def payment_from(intent: dict[str, Any], *, provider: str, idempotency_key: str | None) -> Payment:
    """A Payment from a PaymentIntent (``latest_charge`` expanded for refunds)."""
    currency = str(intent["currency"]).upper()
    charge = intent.get("latest_charge")
    refunded = charge.get("amount_refunded", 0) if isinstance(charge, dict) else 0
    received = intent.get("amount_received", 0) or 0
    status = _status(intent, received, refunded)
    error = intent.get("last_payment_error") or {}
    next_action = intent.get("next_action")
    if status is PaymentStatus.REQUIRES_ACTION and next_action is None:
        missing = intent.get("status")
        kind = "collect_payment_method" if missing == "requires_payment_method" else "confirm"
        next_action = {"type": kind}
    capture_method: Literal["automatic", "manual"] = (
        "manual" if intent.get("capture_method") == "manual" else "automatic"
    )
    return Payment(
        id=intent["id"],
        provider=provider,
        provider_id=intent["id"],
        status=status,
        amount=from_stripe_amount(intent["amount"], currency),
        amount_captured=from_stripe_amount(received, currency),
        amount_refunded=from_stripe_amount(refunded, currency),
        currency=currency,
        customer=_id(intent.get("customer")),
        payment_method=_id(intent.get("payment_method")),
        capture_method=capture_method,
        description=intent.get("description"),
        metadata=dict(intent.get("metadata") or {}),
        idempotency_key=idempotency_key,
        next_action=next_action if status is PaymentStatus.REQUIRES_ACTION else None,
        client_secret=intent.get("client_secret")
        if status is PaymentStatus.REQUIRES_ACTION
        else None,
        failure_code=normalize_decline(error.get("code"), error.get("decline_code"))
        if status is PaymentStatus.FAILED
        else None,
        failure_message=error.get("message") if status is PaymentStatus.FAILED else None,
        raw=intent,
    )


def refund_from(refund: dict[str, Any], *, provider: str, idempotency_key: str) -> Refund:
    """A Refund from ``POST /v1/refunds`` with ``payment_intent.latest_charge`` expanded."""
    intent = refund.get("payment_intent")
    if not isinstance(intent, dict):
        raise ProviderError(
            "stripe: the refund came back without its PaymentIntent, which this plugin expands",
            provider=provider,
            retryable=False,
            failover_safe=False,
        )
    payment = payment_from(intent, provider=provider, idempotency_key=idempotency_key)
    return Refund(
        id=refund["id"],
        provider=provider,
        provider_id=refund["id"],
        payment_id=payment.id,
        amount=from_stripe_amount(refund["amount"], payment.currency),
        currency=payment.currency,
        reason=refund.get("reason"),
        idempotency_key=idempotency_key,
        payment=payment,
        raw=refund,
    )


def customer_from(customer: dict[str, Any], *, provider: str, idempotency_key: str) -> Customer:
    return Customer(
        id=customer["id"],
        provider=provider,
        provider_id=customer["id"],
        email=customer.get("email"),
        name=customer.get("name"),
        metadata=dict(customer.get("metadata") or {}),
        idempotency_key=idempotency_key,
        raw=customer,
    )
