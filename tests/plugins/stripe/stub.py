"""A stateful stand-in for Stripe's API, answering with the shapes Stripe documents.

Sources: https://docs.stripe.com/api/payment_intents (object, create/confirm, capture, cancel),
https://docs.stripe.com/api/refunds, https://docs.stripe.com/api/customers,
https://docs.stripe.com/api/errors (``{"error": {type, code, decline_code, message, param}}``),
https://docs.stripe.com/api/idempotent_requests and https://docs.stripe.com/testing (test
payment methods). Use ``httpx.MockTransport(stub.handle)`` or serve it (``tests.plugins.payments
.stub_server``).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx

Obj = dict[str, Any]

SECRET_KEY = "sk_test_hub_stub_0000000000"
#: Stripe's documented test payment methods that decline -> (code, decline_code, message).
DECLINES: dict[str, tuple[str, str, str]] = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": (
        "expired_card",
        "expired_card",
        "Your card has expired.",
    ),
    "pm_card_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
}
THREE_D_SECURE = "pm_card_authenticationRequired"
_CANCELABLE = {
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
}
_NAME = re.compile(r"^(\w+)(?:\[(\w*)\])?$")


def decode_form(content: bytes) -> Obj:
    """Stripe's bracket notation back into objects (the shapes this plugin sends)."""
    out: Obj = {}
    for name, value in parse_qsl(content.decode(), keep_blank_values=True):
        match = _NAME.match(name)
        assert match, f"unexpected form field {name!r}"
        base, sub = match.groups()
        if sub is None:
            out[base] = value
        elif sub == "":
            out.setdefault(base, []).append(value)
        else:
            out.setdefault(base, {})[sub] = value
    return out


def _error(status: int, kind: str, message: str, **fields: Any) -> tuple[int, Obj]:
    error: Obj = {"type": kind, "message": message, **fields}
    if "code" in error:
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{error['code']}"
    return status, {"error": error}


class StripeStub:
    """Customers, PaymentIntents, charges and refunds in memory, with Stripe's idempotency."""

    def __init__(self, secret_key: str = SECRET_KEY) -> None:
        self.secret_key = secret_key
        self.customers: dict[str, Obj] = {}
        self.intents: dict[str, Obj] = {}
        self.charges: dict[str, Obj] = {}
        self.refunds: dict[str, Obj] = {}
        self.keys: dict[str, tuple[Any, int, Obj]] = {}
        self.requests: list[httpx.Request] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _id(self, prefix: str) -> str:
        return f"{prefix}_3Pstub{next(self._ids):010d}"

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    # -- transport --------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            status, body, replayed = self._handle(request)
        headers = {"request-id": f"req_{next(self._ids):012d}"}
        if replayed:
            headers["idempotent-replayed"] = "true"
        return httpx.Response(status, json=body, headers=headers)

    def _handle(self, request: httpx.Request) -> tuple[int, Obj, bool]:
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            status, body = _error(
                401,
                "invalid_request_error",
                "Invalid API Key provided: sk_test_****0000",
            )
            return status, body, False
        form = decode_form(request.content) if request.method == "POST" else {}
        query = decode_form(request.url.query)
        key = request.headers.get("idempotency-key")
        fingerprint = (request.method, request.url.path, json.dumps(form, sort_keys=True))
        if request.method == "POST" and key is not None and key in self.keys:
            first, status, body = self.keys[key]
            if first != fingerprint:
                status, body = _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                )
                return status, body, False
            return status, body, True
        status, body = self._route(request.method, request.url.path, form, query)
        if request.method == "POST" and key is not None:
            self.keys[key] = (fingerprint, status, body)
        return status, body, False

    def _route(self, method: str, path: str, form: Obj, query: Obj) -> tuple[int, Obj]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/customers":
            return self._create_customer(form)
        if method == "POST" and path == "/v1/payment_intents":
            return self._create_intent(form)
        if method == "POST" and path == "/v1/refunds":
            return self._refund(form)
        if len(parts) >= 3 and parts[:2] == ["v1", "payment_intents"]:
            intent = self.intents.get(parts[2])
            if intent is None:
                return _error(
                    404,
                    "invalid_request_error",
                    f"No such payment_intent: '{parts[2]}'",
                    code="resource_missing",
                    param="intent",
                )
            if method == "GET" and len(parts) == 3:
                return 200, self._render(intent, query.get("expand", []))
            if method == "POST" and parts[3:] == ["capture"]:
                return self._capture(intent, form)
            if method == "POST" and parts[3:] == ["cancel"]:
                return self._cancel(intent, form)
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    # -- resources --------------------------------------------------------------------

    def _render(self, intent: Obj, expand: list[str]) -> Obj:
        shown = dict(intent)
        if "latest_charge" in expand and intent["latest_charge"]:
            shown["latest_charge"] = dict(self.charges[intent["latest_charge"]])
        return shown

    def _create_customer(self, form: Obj) -> tuple[int, Obj]:
        customer = {
            "id": self._id("cus"),
            "object": "customer",
            "created": int(time.time()),
            "email": form.get("email"),
            "name": form.get("name"),
            "metadata": form.get("metadata", {}),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return 200, customer

    def _create_intent(self, form: Obj) -> tuple[int, Obj]:
        customer = form.get("customer")
        if customer is not None and customer not in self.customers:
            return _error(
                400,
                "invalid_request_error",
                f"No such customer: '{customer}'",
                code="resource_missing",
                param="customer",
            )
        intent_id = self._id("pi")
        intent: Obj = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_capturable": 0,
            "amount_received": 0,
            "capture_method": form.get("capture_method", "automatic_async"),
            "client_secret": f"{intent_id}_secret_stubStubStub",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": form["currency"],
            "customer": customer,
            "description": form.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": form.get("metadata", {}),
            "next_action": None,
            "payment_method": form.get("payment_method"),
            "payment_method_types": ["card"],
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        if form.get("confirm") != "true":
            return 200, self._render(intent, form.get("expand", []))
        method = form.get("payment_method")
        if method in DECLINES:
            code, decline_code, message = DECLINES[method]
            charge = self._charge(intent, status="failed")
            error = {
                "charge": charge["id"],
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "type": "card_error",
            }
            intent["last_payment_error"] = error
            return 402, {"error": {**error, "payment_intent": dict(intent)}}
        if method == THREE_D_SECURE:
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": "https://hooks.stripe.com/3d_secure_2/hosted",
                },
            }
            return 200, self._render(intent, form.get("expand", []))
        manual = intent["capture_method"] == "manual"
        self._charge(intent, status="succeeded", captured=not manual)
        if manual:
            intent["status"], intent["amount_capturable"] = "requires_capture", intent["amount"]
        else:
            intent["status"], intent["amount_received"] = "succeeded", intent["amount"]
        return 200, self._render(intent, form.get("expand", []))

    def _charge(self, intent: Obj, *, status: str, captured: bool = False) -> Obj:
        charge = {
            "id": self._id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if captured else 0,
            "amount_refunded": 0,
            "captured": captured,
            "currency": intent["currency"],
            "paid": status == "succeeded",
            "payment_intent": intent["id"],
            "refunded": False,
            "status": status,
        }
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        return charge

    def _unexpected_state(self, intent: Obj, action: str, allowed: str) -> tuple[int, Obj]:
        return _error(
            400,
            "invalid_request_error",
            f"This PaymentIntent could not be {action} because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
            f"may be {action}: {allowed}.",
            code="payment_intent_unexpected_state",
            payment_intent=dict(intent),
        )

    def _capture(self, intent: Obj, form: Obj) -> tuple[int, Obj]:
        if intent["status"] != "requires_capture":
            return self._unexpected_state(intent, "captured", "requires_capture")
        take = int(form.get("amount_to_capture") or intent["amount_capturable"])
        if take > intent["amount_capturable"]:
            return _error(
                400,
                "invalid_request_error",
                "The amount_to_capture must be less than or equal to the amount_capturable.",
                code="amount_too_large",
                param="amount_to_capture",
            )
        charge = self.charges[intent["latest_charge"]]
        charge.update(amount_captured=take, captured=True)
        intent.update(status="succeeded", amount_received=take, amount_capturable=0)
        return 200, self._render(intent, form.get("expand", []))

    def _cancel(self, intent: Obj, form: Obj) -> tuple[int, Obj]:
        if intent["status"] not in _CANCELABLE:
            return self._unexpected_state(intent, "canceled", ", ".join(sorted(_CANCELABLE)))
        intent.update(
            status="canceled",
            amount_capturable=0,
            next_action=None,
            cancellation_reason=form.get("cancellation_reason"),
            canceled_at=int(time.time()),
        )
        return 200, self._render(intent, form.get("expand", []))

    def _refund(self, form: Obj) -> tuple[int, Obj]:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(
                400,
                "invalid_request_error",
                f"No such payment_intent: '{form.get('payment_intent')}'",
                code="resource_missing",
                param="payment_intent",
            )
        if intent["status"] != "succeeded":
            return _error(
                400,
                "invalid_request_error",
                "This PaymentIntent does not have a successful charge to refund.",
                param="payment_intent",
            )
        if form.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            return _error(400, "invalid_request_error", "Invalid reason", param="reason")
        charge = self.charges[intent["latest_charge"]]
        left = charge["amount_captured"] - charge["amount_refunded"]
        if left == 0:
            return _error(
                400,
                "invalid_request_error",
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = int(form.get("amount", left))
        if amount > left:
            return _error(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                param="amount",
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        refund: Obj = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "reason": form.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        shown = dict(refund)
        if "payment_intent.latest_charge" in form.get("expand", []):
            shown["payment_intent"] = self._render(intent, ["latest_charge"])
        return 200, shown
