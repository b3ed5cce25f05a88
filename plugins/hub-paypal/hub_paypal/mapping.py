"""PayPal's shapes <-> the hub's: order bodies, orders as Payments, declines.

The hub's payment id is the PayPal **order** id. An order holds (in ``purchase_units[0].payments``)
the authorization, the capture and the refunds made against it; the plugin reads them from the
order, so one id serves ``capture``/``cancel``/``refund``/``get``. Their own ids are in
``payment.raw`` (the order as PayPal returned it).

=====================================  ===============================================
PayPal                                 hub ``PaymentStatus``
=====================================  ===============================================
order CREATED / SAVED /                ``requires_action``: ``next_action`` holds the
PAYER_ACTION_REQUIRED                  approve / payer-action link
order APPROVED                         ``authorized``: ``capture`` completes it
order VOIDED                           ``canceled``
COMPLETED, capture(s) COMPLETED        ``captured`` / ``partially_refunded`` /
                                       ``refunded`` by the refunds' total
COMPLETED, capture PENDING             ``authorized`` (not collected yet)
COMPLETED, capture DECLINED / FAILED   ``failed``
COMPLETED, authorization CREATED       ``authorized``
COMPLETED, authorization VOIDED /      ``canceled``
EXPIRED
COMPLETED, authorization DENIED        ``failed``
=====================================  ===============================================

Metadata travels as compact JSON in ``custom_id`` (PayPal's one free field, 127 characters) and
the description in ``purchase_units[0].description`` (127 characters); what does not fit is
refused (InvalidRequest naming the field), never cut.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from hub.capabilities import payments
from hub.capabilities.payments import Money, Payment, PaymentStatus, minor_units
from hub.errors import InvalidRequest, ProviderError

__all__ = [
    "VAULT_SOURCES",
    "amount_of",
    "approval_link",
    "authorization_of",
    "capture_of",
    "decline_of",
    "money_body",
    "normalize_issue",
    "order_body",
    "path",
    "payment_from",
]

Obj = dict[str, Any]
VAULT_SOURCES = ("card", "paypal", "venmo")
_TEXT_LIMIT = 127
_VALUE_LIMIT = 32  # PayPal's amounts have at most 32 characters
# Currencies PayPal takes without decimals although ISO 4217 gives them two.
_NO_DECIMALS = frozenset({"HUF", "TWD"})
_CAPTURED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
_REFUNDED = frozenset({"COMPLETED", "PENDING"})
_AUTHORIZATION_STATUS = {
    "CREATED": PaymentStatus.AUTHORIZED,
    "PENDING": PaymentStatus.AUTHORIZED,
    "PARTIALLY_CAPTURED": PaymentStatus.AUTHORIZED,
    "VOIDED": PaymentStatus.CANCELED,
    "EXPIRED": PaymentStatus.CANCELED,
    "DENIED": PaymentStatus.FAILED,
}
_ORDER_STATUS = {
    "CREATED": PaymentStatus.REQUIRES_ACTION,
    "SAVED": PaymentStatus.REQUIRES_ACTION,
    "PAYER_ACTION_REQUIRED": PaymentStatus.REQUIRES_ACTION,
    "APPROVED": PaymentStatus.AUTHORIZED,
    "VOIDED": PaymentStatus.CANCELED,
}

#: ``details[].issue`` values that are the payer's instrument saying no -> decline code
#: (one of hub.capabilities.payments.DECLINE_CODES).
_ISSUES: dict[str, str] = {
    "INSTRUMENT_DECLINED": "card_declined",
    "TRANSACTION_REFUSED": "card_declined",
    "PAYER_CANNOT_PAY": "card_declined",
    "PAYER_ACCOUNT_RESTRICTED": "card_declined",
    "PAYER_ACCOUNT_LOCKED_OR_CLOSED": "card_declined",
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING": "card_declined",
    "CARD_EXPIRED": "expired_card",
    "INSUFFICIENT_FUNDS": "insufficient_funds",
    "CARD_TYPE_NOT_SUPPORTED": "card_not_supported",
    "CURRENCY_NOT_SUPPORTED_FOR_CARD_TYPE": "currency_not_supported",
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": "limit_exceeded",
    "TRANSACTION_LIMIT_EXCEEDED": "limit_exceeded",
    "TRANSACTION_BLOCKED_BY_PAYEE": "fraudulent",
}
#: Card ``processor_response.response_code`` -> decline code (others: card_declined).
_PROCESSOR_CODES: dict[str, str] = {
    "5120": "insufficient_funds",
    "5400": "expired_card",
    "1380": "expired_card",
    "00N7": "incorrect_cvc",
    "5110": "incorrect_cvc",
    "1330": "incorrect_number",
    "9500": "fraudulent",
    "9520": "lost_card",
    "5650": "authentication_required",
}


def normalize_issue(issue: str | None) -> str | None:
    """The decline code for a PayPal ``issue``, or None when the issue is no decline."""
    return _ISSUES.get(issue) if issue else None


# -- amounts ------------------------------------------------------------------------------


def money_body(money: Money) -> dict[str, str]:
    """``{"currency_code": "EUR", "value": "19.99"}``; InvalidRequest if PayPal cannot say it."""
    if money.currency in _NO_DECIMALS:
        if money.amount % 100:
            raise InvalidRequest(
                f"PayPal takes {money.currency} in whole units; {money} has a fraction",
                field="amount",
                provider="paypal",
            )
        return {"currency_code": money.currency, "value": str(money.amount // 100)}
    return {"currency_code": money.currency, "value": f"{money.to_decimal():f}"}


def amount_of(amount: Any) -> tuple[int, str]:
    """PayPal's ``{"currency_code", "value"}`` as (minor units, currency)."""
    currency = path(amount, "currency_code")
    value = path(amount, "value")
    if not isinstance(currency, str) or not isinstance(value, str) or len(value) > _VALUE_LIMIT:
        raise _unexpected("an amount with currency_code and value")
    try:
        return minor_units(value, currency), currency.upper()
    except InvalidRequest:
        raise _unexpected(f"a {currency} amount, not {value!r},") from None


def _total(items: list[Obj], statuses: frozenset[str]) -> int:
    return sum(amount_of(item.get("amount"))[0] for item in items if item.get("status") in statuses)


def _unexpected(what: str) -> ProviderError:
    return ProviderError(
        f"paypal: expected {what} in PayPal's answer; this plugin does not understand it",
        provider="paypal",
        retryable=False,
        failover_safe=False,
    )


# -- requests -----------------------------------------------------------------------------


def _text(value: str, field: str) -> str:
    if len(value) > _TEXT_LIMIT:
        raise InvalidRequest(
            f"PayPal keeps at most {_TEXT_LIMIT} characters of {field} ({len(value)} given); "
            "shorten it",
            field=field,
            provider="paypal",
        )
    return value


def _source(payment_method: str, default: str) -> tuple[str, str]:
    kind, sep, vault_id = payment_method.partition(":")
    if not sep:
        return default, payment_method
    if kind not in VAULT_SOURCES or not vault_id:
        raise InvalidRequest(
            f"payment_method {payment_method!r}: use a PayPal vault id, optionally prefixed "
            f"with its source ({', '.join(f'{s}:' for s in VAULT_SOURCES)})",
            field="payment_method",
            provider="paypal",
        )
    return kind, vault_id


def order_body(
    amount: Money,
    *,
    payment_method: str | None,
    capture: bool,
    description: str | None,
    metadata: dict[str, str],
    vault_source: str,
    return_url: str | None,
    cancel_url: str | None,
) -> Obj:
    """``POST /v2/checkout/orders``: with a vault id PayPal completes it in the same call."""
    unit: Obj = {"amount": money_body(amount)}
    if description:
        unit["description"] = _text(description, "description")
    if metadata:
        custom = json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        unit["custom_id"] = _text(custom, "metadata")
    body: Obj = {"intent": "CAPTURE" if capture else "AUTHORIZE", "purchase_units": [unit]}
    if payment_method is not None:
        source, vault_id = _source(payment_method, vault_source)
        body["payment_source"] = {source: {"vault_id": vault_id}}
    elif return_url or cancel_url:
        context = {"return_url": return_url, "cancel_url": cancel_url, "user_action": "PAY_NOW"}
        experience = {k: v for k, v in context.items() if v}
        body["payment_source"] = {"paypal": {"experience_context": experience}}
    return body


# -- orders -------------------------------------------------------------------------------


def _unit(order: Obj) -> Obj:
    units = order.get("purchase_units")
    if not isinstance(units, list) or not units or not isinstance(units[0], dict):
        raise _unexpected("an order with purchase_units")
    unit: Obj = units[0]
    return unit


def _payments(order: Obj, kind: str) -> list[Obj]:
    found = path(_unit(order), "payments", kind)
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def authorization_of(order: Obj) -> Obj | None:
    """The order's (first) authorization, if it has one."""
    found = _payments(order, "authorizations")
    return found[0] if found else None


def capture_of(order: Obj) -> Obj | None:
    """The order's capture that money can be refunded from, if any."""
    return next((c for c in _payments(order, "captures") if c.get("status") in _CAPTURED), None)


def approval_link(order: Obj) -> str | None:
    """Where the buyer approves (or authenticates) the order."""
    found = order.get("links")
    links = [link for link in found if isinstance(link, dict)] if isinstance(found, list) else []
    for rel in ("payer-action", "approve"):
        for link in links:
            if link.get("rel") == rel and isinstance(link.get("href"), str):
                return str(link["href"])
    return None


def decline_of(order: Obj) -> tuple[str, str | None, str] | None:
    """``(decline code, vendor code, message)`` if the order's payment was declined."""
    refused = [c for c in _payments(order, "captures") if c.get("status") in ("DECLINED", "FAILED")]
    refused += [a for a in _payments(order, "authorizations") if a.get("status") == "DENIED"]
    if not refused:
        return None
    item = refused[0]
    processor = path(item, "processor_response", "response_code")
    reason = path(item, "status_details", "reason")
    vendor = processor if isinstance(processor, str) else reason
    vendor = vendor if isinstance(vendor, str) else None
    code = payments.normalize_decline(_PROCESSOR_CODES, vendor)
    message = f"{str(item.get('status')).lower()}" + (f" ({reason})" if reason else "")
    return code, vendor, message


def _status(order: Obj, captured: int, refunded: int) -> PaymentStatus:
    status = order.get("status")
    if status in _ORDER_STATUS:
        return _ORDER_STATUS[status]
    if status != "COMPLETED":
        raise _unexpected(f"a known order status, not {status!r},")
    if captured > 0:
        if refunded <= 0:
            return PaymentStatus.CAPTURED
        return PaymentStatus.REFUNDED if refunded >= captured else PaymentStatus.PARTIALLY_REFUNDED
    captures = _payments(order, "captures")
    if any(c.get("status") == "PENDING" for c in captures):
        return PaymentStatus.AUTHORIZED
    if captures:
        return PaymentStatus.FAILED
    authorization = authorization_of(order)
    if authorization is not None:
        return _AUTHORIZATION_STATUS.get(str(authorization.get("status")), PaymentStatus.CAPTURED)
    return PaymentStatus.FAILED


def _metadata(unit: Obj) -> dict[str, str]:
    custom = unit.get("custom_id")
    if not isinstance(custom, str) or not custom:
        return {}
    try:
        data = json.loads(custom)
    except ValueError:
        data = None
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return {str(k): v for k, v in data.items()}
    return {"custom_id": custom}


def _vault_id(order: Obj) -> str | None:
    """``"card:<vault id>"`` when PayPal says which saved method paid."""
    sources = order.get("payment_source")
    for kind, source in sources.items() if isinstance(sources, dict) else ():
        vault = path(source, "vault_id") or path(source, "attributes", "vault", "id")
        if isinstance(vault, str):
            return f"{kind}:{vault}"
    return None


def path(obj: Any, *keys: str) -> Any:
    """``obj[keys[0]][keys[1]]…``, or None where any step is missing or not an object."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def payment_from(order: Obj, *, provider: str, idempotency_key: str | None) -> Payment:
    """A Payment from a PayPal order (as ``GET /v2/checkout/orders/{id}`` returns it)."""
    unit = _unit(order)
    amount, currency = amount_of(unit.get("amount"))
    captures = _payments(order, "captures")
    captured = _total(captures, _CAPTURED)
    refunded = _total(_payments(order, "refunds"), _REFUNDED)
    if refunded == 0 and any(c.get("status") == "REFUNDED" for c in captures):
        refunded = captured  # PayPal said so without listing the refunds
    status = _status(order, captured, refunded)
    declined = decline_of(order) if status is PaymentStatus.FAILED else None
    link = approval_link(order) if status is PaymentStatus.REQUIRES_ACTION else None
    capture_method: Literal["automatic", "manual"] = (
        "manual" if order.get("intent") == "AUTHORIZE" else "automatic"
    )
    return Payment(
        id=order["id"],
        provider=provider,
        provider_id=order["id"],
        status=status,
        amount=amount,
        amount_captured=captured,
        amount_refunded=refunded,
        currency=currency,
        payment_method=_vault_id(order),
        capture_method=capture_method,
        description=unit.get("description"),
        metadata=_metadata(unit),
        idempotency_key=idempotency_key,
        next_action={"type": "redirect_to_url", "redirect_to_url": {"url": link}} if link else None,
        failure_code=declined[0] if declined else None,
        failure_message=declined[2] if declined else None,
        raw=order,
    )
