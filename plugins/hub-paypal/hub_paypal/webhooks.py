"""PayPal webhooks: the RSA signature verified offline, events normalized to ``payment.*``.

See :mod:`hub_paypal._signature` for the verification: :meth:`PayPalWebhooks.prepare` (awaited
by the receiver before ``verify``) loads the signing certificate named by ``PAYPAL-CERT-URL``
into the handler's certificate store, through the hub's HTTP client, once per certificate.

``subject_id`` is the PayPal order id (the hub's payment id) where the resource names it
(``supplementary_data.related_ids``), else the capture / authorization id; ``data`` carries the
ids PayPal gave.

=============================  =======================================================
PayPal event                   hub event
=============================  =======================================================
PAYMENT.AUTHORIZATION.CREATED  payment.authorized
PAYMENT.AUTHORIZATION.VOIDED   payment.canceled
PAYMENT.CAPTURE.COMPLETED      payment.captured and payment.succeeded (ids ``<id>`` and
                               ``<id>:succeeded``: one PayPal event means both)
PAYMENT.CAPTURE.DENIED         payment.failed (reason: normalized decline code)
PAYMENT.CAPTURE.REFUNDED       payment.refunded (amount: this refund)
CUSTOMER.DISPUTE.CREATED       payment.disputed (subject: the disputed capture)
CUSTOMER.DISPUTE.RESOLVED      payment.dispute_closed (reason: won | lost)
=============================  =======================================================

Other event types are acknowledged and produce no event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigurationError, HubError, WebhookError
from hub.webhooks.certificates import HttpFetch
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import required_header
from hub_paypal._signature import CERT_URL, paypal_certificates, verify_paypal
from hub_paypal.mapping import amount_of, decline_of, path
from hub_paypal.settings import PayPalSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["PayPalWebhooks"]

Obj = dict[str, Any]
_OUTCOMES = {"RESOLVED_SELLER_FAVOUR": "won", "RESOLVED_BUYER_FAVOUR": "lost"}


class PayPalWebhooks(BaseWebhookHandler):
    """Verifies and normalizes PayPal's webhook events (``POST /webhooks/paypal``).

    ``certificates`` caches PayPal's signing certificates; set ``certificates.fetch`` (an async
    ``fetch(url) -> bytes``) to load them some other way (tests do).
    """

    settings: PayPalSettings

    def __init__(self, settings: PayPalSettings, context: ProviderContext) -> None:
        super().__init__(settings, context)
        if not settings.webhook_id:
            raise ConfigurationError(
                "PayPal webhooks need the webhook id: set PAYPAL_WEBHOOK_ID (the id PayPal shows "
                "for your webhook URL) or HUB_PAYMENTS__PAYPAL__WEBHOOK_ID"
            )
        self.certificates = paypal_certificates(
            HttpFetch(context, base_url="https://api-m.paypal.com")
        )

    async def prepare(self, request: InboundRequest) -> None:
        """Load the certificate ``PAYPAL-CERT-URL`` names (fetched once per URL)."""
        await self.certificates.load(required_header(request.headers, CERT_URL))

    def verify(self, request: InboundRequest) -> None:
        verify_paypal(
            request.headers,
            request.body,
            webhook_ids=self.settings.webhook_id,
            certificates=self.certificates,
            tolerance=self.tolerance,
        )

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        event = request.json()
        if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
            raise WebhookError("not a PayPal event: no 'event_type'", provider=self.provider)
        build = _EVENTS.get(event["event_type"])
        if build is None:
            return []
        resource = event.get("resource")
        if not isinstance(resource, dict) or not isinstance(event.get("id"), str):
            raise WebhookError("PayPal event without an id or resource", provider=self.provider)
        when = _time(event.get("create_time"))
        common: Obj = {"raw": event, **({"occurred_at": when} if when else {})}
        return [
            self.event(kind, event["id"] + suffix, **common, **fields)
            for kind, suffix, fields in build(resource)
        ]


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _money(resource: Obj, field: str = "amount") -> Obj:
    try:
        amount, currency = amount_of(resource.get(field))
    except HubError:  # an event without (a readable) amount still reports what happened
        return {}
    return {"amount": amount, "currency": currency}


def _related(resource: Obj, kind: str) -> str | None:
    value = path(resource, "supplementary_data", "related_ids", kind)
    return value if isinstance(value, str) else None


def _payment(resource: Obj, id_name: str) -> Obj:
    """subject_id (the order, if named) and the ids PayPal gave."""
    order = _related(resource, "order_id")
    data = {id_name: resource.get("id"), "order_id": order, "status": resource.get("status")}
    return {"subject_id": order or resource.get("id"), "data": data, **_money(resource)}


Built = list[tuple[str, str, Obj]]


def _authorization(kind: str) -> Callable[[Obj], Built]:
    def build(resource: Obj) -> Built:
        return [(kind, "", _payment(resource, "authorization_id"))]

    return build


def _capture_completed(resource: Obj) -> Built:
    fields = _payment(resource, "capture_id")
    return [("payment.captured", "", fields), ("payment.succeeded", ":succeeded", fields)]


def _capture_denied(resource: Obj) -> Built:
    fields = _payment(resource, "capture_id")
    order = {"purchase_units": [{"payments": {"captures": [resource]}}]}
    declined = decline_of(order)
    fields["reason"] = declined[0] if declined else "card_declined"
    return [("payment.failed", "", fields)]


def _refunded(resource: Obj) -> Built:
    links = resource.get("links")
    capture = next(
        (
            link["href"].rstrip("/").rsplit("/", 1)[-1]
            for link in (links if isinstance(links, list) else [])
            if isinstance(link, dict)
            and link.get("rel") == "up"
            and isinstance(link.get("href"), str)
        ),
        None,
    )
    order = _related(resource, "order_id")
    data = {"refund_id": resource.get("id"), "capture_id": capture, "order_id": order}
    subject = order or capture or resource.get("id")
    return [("payment.refunded", "", {"subject_id": subject, "data": data, **_money(resource)})]


def _dispute(kind: str) -> Callable[[Obj], Built]:
    def build(resource: Obj) -> Built:
        transactions = resource.get("disputed_transactions")
        first = transactions[0] if isinstance(transactions, list) and transactions else None
        capture = path(first, "seller_transaction_id")
        outcome = path(resource, "dispute_outcome", "outcome_code")
        reason = (
            resource.get("reason") if kind == "payment.disputed" else _OUTCOMES.get(str(outcome))
        )
        data = {"dispute_id": resource.get("dispute_id"), "capture_id": capture, "outcome": outcome}
        fields = {"subject_id": capture, "reason": reason, "data": data}
        return [(kind, "", {**fields, **_money(resource, "dispute_amount")})]

    return build


_EVENTS: dict[str, Callable[[Obj], Built]] = {
    "PAYMENT.AUTHORIZATION.CREATED": _authorization("payment.authorized"),
    "PAYMENT.AUTHORIZATION.VOIDED": _authorization("payment.canceled"),
    "PAYMENT.CAPTURE.COMPLETED": _capture_completed,
    "PAYMENT.CAPTURE.DENIED": _capture_denied,
    "PAYMENT.CAPTURE.REFUNDED": _refunded,
    "CUSTOMER.DISPUTE.CREATED": _dispute("payment.disputed"),
    "CUSTOMER.DISPUTE.RESOLVED": _dispute("payment.dispute_closed"),
}
