"""Stripe webhooks: ``Stripe-Signature`` verified, events normalized to ``payment.*``.

Verification is :func:`hub.webhooks.signatures.verify_stripe`: HMAC-SHA256 over
``"{t}.{body}"`` with each configured endpoint secret, any of several ``v1`` signatures
accepted (Stripe sends one per active secret while one is rolled), the timestamp within
``settings.webhooks.tolerance``.

=======================================  ==============================================
Stripe event                             hub event (``subject_id`` = PaymentIntent id)
=======================================  ==============================================
payment_intent.amount_capturable_updated payment.authorized (amount: capturable)
payment_intent.succeeded                 payment.succeeded (amount: received)
payment_intent.payment_failed            payment.failed (reason: normalized decline code)
payment_intent.canceled                  payment.canceled
charge.captured                          payment.captured (amount: captured)
charge.refunded                          payment.refunded (amount: this refund)
refund.created                           payment.refunded (amount: this refund)
charge.dispute.created                   payment.disputed (reason: Stripe's reason)
charge.dispute.closed                    payment.dispute_closed (reason: won | lost)
=======================================  ==============================================

Subscribe to one of ``charge.refunded`` and ``refund.created``, not both: each would report the
same refund (``data["refund_id"]`` names it either way). Other event types are acknowledged and
produce no event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigurationError, HubError, WebhookError
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import sign_stripe, verify_stripe
from hub_stripe.mapping import from_stripe_amount, normalize_decline
from hub_stripe.settings import StripeSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["StripeWebhooks"]

Obj = dict[str, Any]


class StripeWebhooks(BaseWebhookHandler):
    """Verifies and normalizes Stripe's webhook events (``POST /webhooks/stripe``)."""

    settings: StripeSettings

    def __init__(self, settings: StripeSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        self._secrets = [s.get_secret_value() for s in settings.webhook_secrets]
        if not self._secrets:
            raise ConfigurationError(
                "Stripe webhooks need the endpoint's signing secret: set STRIPE_WEBHOOK_SECRET "
                "or HUB_PAYMENTS__STRIPE__WEBHOOK_SECRETS (whsec_…, comma-separated while "
                "rolling a secret)"
            )

    def verify(self, request: InboundRequest) -> None:
        verify_stripe(
            request.headers, request.body, secrets=self._secrets, tolerance=self.tolerance
        )

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        event = request.json()
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise WebhookError("not a Stripe event: no 'type'", provider=self.provider)
        build = _EVENTS.get(event["type"])
        if build is None:
            return []
        obj = _get(event, "data", "object")
        if not isinstance(obj, dict) or not isinstance(event.get("id"), str):
            raise WebhookError("Stripe event without an id or data.object", provider=self.provider)
        hub_type, fields = build(obj, event)
        return [self.event(hub_type, event["id"], raw=event, **_when(event), **fields)]

    def sign(self, body: bytes, *, url: str) -> dict[str, str]:
        """The ``Stripe-Signature`` header Stripe would send (first configured secret)."""
        return sign_stripe(body, secret=self._secrets[0], timestamp=int(time.time()))


def _get(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]…``, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _when(event: Obj) -> dict[str, datetime]:
    created = event.get("created")
    if not isinstance(created, int) or not 0 <= created < 2**37:
        return {}
    return {"occurred_at": datetime.fromtimestamp(created, UTC)}


def _money(obj: Obj, field: str) -> dict[str, Any]:
    currency, amount = obj.get("currency"), obj.get(field)
    if not isinstance(currency, str) or not isinstance(amount, int) or isinstance(amount, bool):
        return {}
    try:
        return {"amount": from_stripe_amount(amount, currency), "currency": currency.upper()}
    except HubError:  # not a currency the hub knows: the event still says what happened
        return {}


def _intent_id(obj: Obj) -> str | None:
    value = obj.get("payment_intent")
    return _text(_get(value, "id") if isinstance(value, dict) else value)


def _intent(kind: str, amount_field: str | None = None) -> Callable[[Obj, Obj], tuple[str, Obj]]:
    def build(obj: Obj, event: Obj) -> tuple[str, Obj]:
        fields: Obj = {"subject_id": obj.get("id"), "data": {"status": obj.get("status")}}
        if amount_field:
            fields.update(_money(obj, amount_field))
        code, decline = (
            _text(_get(obj, "last_payment_error", "code")),
            _text(_get(obj, "last_payment_error", "decline_code")),
        )
        if kind == "payment.failed" and (code or decline):
            fields["reason"] = normalize_decline(code, decline)
            fields["data"]["decline_code"] = decline or code
        return kind, fields

    return build


def _charge_captured(obj: Obj, event: Obj) -> tuple[str, Obj]:
    fields = {"subject_id": _intent_id(obj) or obj.get("id"), "data": {"charge_id": obj.get("id")}}
    return "payment.captured", {**fields, **_money(obj, "amount_captured")}


def _charge_refunded(obj: Obj, event: Obj) -> tuple[str, Obj]:
    """The refund is what ``amount_refunded`` grew by since the previous attributes."""
    previous = _get(event, "data", "previous_attributes", "amount_refunded")
    total = obj.get("amount_refunded")
    refunds = _get(obj, "refunds", "data")
    newest = refunds[0] if isinstance(refunds, list) and refunds else None
    refund_id = _text(_get(newest, "id"))
    this = total - previous if isinstance(total, int) and isinstance(previous, int) else total
    money = _money({"currency": obj.get("currency"), "amount": this}, "amount")
    data = {"charge_id": obj.get("id"), "refund_id": refund_id, "refunded_total": total}
    return "payment.refunded", {"subject_id": _intent_id(obj), "data": data, **money}


def _refund_created(obj: Obj, event: Obj) -> tuple[str, Obj]:
    data = {"refund_id": obj.get("id"), "charge_id": obj.get("charge"), "reason": obj.get("reason")}
    fields = {"subject_id": _intent_id(obj), "data": data}
    return "payment.refunded", {**fields, **_money(obj, "amount")}


def _dispute(kind: str) -> Callable[[Obj, Obj], tuple[str, Obj]]:
    def build(obj: Obj, event: Obj) -> tuple[str, Obj]:
        status = obj.get("status")
        reason = obj.get("reason") if kind == "payment.disputed" else status
        data = {"dispute_id": obj.get("id"), "charge_id": obj.get("charge"), "status": status}
        subject = _intent_id(obj) or obj.get("charge")
        fields = {"subject_id": subject, "reason": reason, "data": data}
        return kind, {**fields, **_money(obj, "amount")}

    return build


_EVENTS: dict[str, Callable[[Obj, Obj], tuple[str, Obj]]] = {
    "payment_intent.amount_capturable_updated": _intent("payment.authorized", "amount_capturable"),
    "payment_intent.succeeded": _intent("payment.succeeded", "amount_received"),
    "payment_intent.payment_failed": _intent("payment.failed", "amount"),
    "payment_intent.canceled": _intent("payment.canceled", "amount"),
    "charge.captured": _charge_captured,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_created,
    "charge.dispute.created": _dispute("payment.disputed"),
    "charge.dispute.closed": _dispute("payment.dispute_closed"),
}
