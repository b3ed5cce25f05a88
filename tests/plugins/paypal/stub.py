"""A stateful stand-in for PayPal's REST API, answering with the shapes PayPal documents.

Sources: https://developer.paypal.com/api/rest/authentication/ (client-credentials token),
https://developer.paypal.com/docs/api/orders/v2/ (create / get / capture / authorize order,
order and purchase-unit shapes, ``payments.{authorizations,captures,refunds}``),
https://developer.paypal.com/docs/api/payments/v2/ (capture / void an authorization, refund a
capture), https://developer.paypal.com/api/rest/responses/ (the error body: ``name``,
``message``, ``details[].issue``, ``debug_id``), https://developer.paypal.com/reference/guidelines/
idempotency (a repeated ``PayPal-Request-Id`` returns the first request's result).

Vault ids the stub understands: ``vault-declined`` (422 INSTRUMENT_DECLINED),
``vault-expired`` (422 CARD_EXPIRED), ``vault-insufficient`` (order COMPLETED with a DECLINED
capture, processor code 5120), ``vault-3ds`` (PAYER_ACTION_REQUIRED); any other succeeds.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from decimal import Decimal
from typing import Any

import httpx

Obj = dict[str, Any]

CLIENT_ID = "AStubClientId-hub-tests"
CLIENT_SECRET = "EStubClientSecret-hub-tests-0000"
BASE = "https://api-m.sandbox.paypal.com"
_TIME = "2026-05-01T12:00:00Z"


def _error(
    status: int, name: str, message: str, issue: str | None = None, **detail: Any
) -> tuple[int, Obj]:
    body: Obj = {"name": name, "message": message, "debug_id": "f00dfeed1234"}
    if issue is not None:
        body["details"] = [{"issue": issue, **detail}]
    body["links"] = [
        {
            "href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{issue or name}",
            "rel": "information_link",
            "method": "GET",
        }
    ]
    return status, body


def _unprocessable(issue: str, description: str) -> tuple[int, Obj]:
    return _error(
        422,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed "
        "business validation.",
        issue,
        description=description,
    )


def _value(amount: Obj) -> Decimal:
    return Decimal(amount["value"])


def _amount(value: Decimal, currency: str) -> Obj:
    return {"currency_code": currency, "value": f"{value:.2f}"}


class PayPalStub:
    """Tokens, orders, authorizations, captures and refunds in memory."""

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.tokens: set[str] = set()
        self.orders: dict[str, Obj] = {}
        self.authorizations: dict[str, tuple[str, Obj]] = {}
        self.captures: dict[str, tuple[str, Obj]] = {}
        self.request_ids: dict[str, tuple[int, Obj]] = {}
        self.requests: list[httpx.Request] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):013d}"

    def calls(self, method: str, path: str = "") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.startswith(path)]

    def revoke_tokens(self) -> None:
        """Make every issued token fail as an expired one does (401)."""
        self.tokens.clear()

    # -- transport --------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            status, body = self._handle(request)
        headers = {"paypal-debug-id": "f00dfeed1234"}
        if status == 204:
            return httpx.Response(204, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    def _handle(self, request: httpx.Request) -> tuple[int, Obj]:
        path = request.url.path
        if path == "/v1/oauth2/token":
            return self._token(request)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return 401, {
                "name": "AUTHENTICATION_FAILURE",
                "message": "Authentication failed due to invalid authentication credentials or "
                "a missing Authorization header.",
                "links": [],
            }
        request_id = request.headers.get("paypal-request-id")
        if request.method == "POST" and request_id in self.request_ids:
            return self.request_ids[request_id]
        body = json.loads(request.content) if request.content else {}
        answer = self._route(request.method, path.strip("/").split("/"), body)
        if request.method == "POST" and request_id is not None:
            self.request_ids[request_id] = answer
        return answer

    def _token(self, request: httpx.Request) -> tuple[int, Obj]:
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        if request.headers.get("authorization") != self.basic:
            return 401, {
                "error": "invalid_client",
                "error_description": "Client Authentication failed",
            }
        if form.get("grant_type") != "client_credentials":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Grant Type is NULL",
            }
        token = f"A21AAStubToken{next(self._ids):08d}"
        self.tokens.add(token)
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": 32400,
            "nonce": "2026-05-01T12:00:00ZstubNonce",
        }

    def _route(self, method: str, parts: list[str], body: Obj) -> tuple[int, Obj]:
        if parts[:3] == ["v2", "checkout", "orders"]:
            if method == "POST" and len(parts) == 3:
                return self._create_order(body)
            order = self.orders.get(parts[3]) if len(parts) > 3 else None
            if order is None:
                return _error(
                    404,
                    "RESOURCE_NOT_FOUND",
                    "The specified resource does not exist.",
                    "INVALID_RESOURCE_ID",
                    field="order_id",
                    location="path",
                    description="Specified resource ID does not exist. Please check the resource "
                    "ID and try again.",
                )
            if method == "GET" and len(parts) == 4:
                return 200, order
            if method == "POST" and parts[4:] == ["capture"]:
                return self._complete(order, "captures")
            if method == "POST" and parts[4:] == ["authorize"]:
                return self._complete(order, "authorizations")
        if parts[:3] == ["v2", "payments", "authorizations"] and len(parts) == 5:
            found = self.authorizations.get(parts[3])
            if found is None:
                return _error(
                    404,
                    "RESOURCE_NOT_FOUND",
                    "The specified resource does not exist.",
                    "INVALID_RESOURCE_ID",
                )
            if parts[4] == "capture":
                return self._capture(*found, body)
            if parts[4] == "void":
                return self._void(*found)
        if parts[:3] == ["v2", "payments", "captures"] and parts[4:] == ["refund"]:
            found = self.captures.get(parts[3])
            if found is None:
                return _error(
                    404,
                    "RESOURCE_NOT_FOUND",
                    "The specified resource does not exist.",
                    "INVALID_RESOURCE_ID",
                )
            return self._refund(*found, body)
        return _error(404, "NOT_FOUND", f"no route {method} /{'/'.join(parts)}")

    # -- orders -----------------------------------------------------------------------

    def _create_order(self, body: Obj) -> tuple[int, Obj]:
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
            return _error(
                400,
                "INVALID_REQUEST",
                "Request is not well-formed, syntactically incorrect, or violates schema.",
                "INVALID_PARAMETER_VALUE",
                field="/intent",
                location="body",
            )
        order_id = self._id("5O190127TN")
        unit = {"reference_id": "default", **body["purchase_units"][0]}
        order: Obj = {
            "id": order_id,
            "intent": body["intent"],
            "status": "CREATED",
            "purchase_units": [unit],
            "create_time": _TIME,
            "links": [
                {"href": f"{BASE}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"},
            ],
        }
        source = body.get("payment_source") or {}
        vault = next((s.get("vault_id") for s in source.values() if s.get("vault_id")), None)
        if vault == "vault-declined":
            return _unprocessable(
                "INSTRUMENT_DECLINED",
                "The instrument presented was either declined by the processor or bank, or it "
                "can't be used for this payment.",
            )
        if vault == "vault-expired":
            return _unprocessable("CARD_EXPIRED", "The card is expired.")
        self.orders[order_id] = order
        if vault is None:
            order["links"].append(
                {
                    "href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
                    "rel": "approve",
                    "method": "GET",
                }
            )
            return 201, order
        order["payment_source"] = {kind: {"vault_id": vault} for kind in source}
        if vault == "vault-3ds":
            order["status"] = "PAYER_ACTION_REQUIRED"
            order["links"].append(
                {
                    "href": f"https://www.sandbox.paypal.com/webapps/helios?action=authenticate&token={order_id}",
                    "rel": "payer-action",
                    "method": "GET",
                }
            )
            return 200, order
        kind = "captures" if body["intent"] == "CAPTURE" else "authorizations"
        status, _ = self._complete(order, kind, declined=vault == "vault-insufficient")
        return status, order

    def _complete(self, order: Obj, kind: str, *, declined: bool = False) -> tuple[int, Obj]:
        """Authorize or capture the whole order, as PayPal does for a vaulted method."""
        if order["status"] not in ("CREATED", "APPROVED"):
            return _unprocessable(
                "ORDER_ALREADY_COMPLETED", "The order has already been completed."
            )
        unit = order["purchase_units"][0]
        item: Obj = {
            "id": self._id(
                "0VF52814937998046" if kind == "authorizations" else "3C679366HH908993F"
            ),
            "status": "CREATED" if kind == "authorizations" else "COMPLETED",
            "amount": dict(unit["amount"]),
            "create_time": _TIME,
            "supplementary_data": {"related_ids": {"order_id": order["id"]}},
        }
        if kind == "captures":
            item["final_capture"] = True
            if declined:
                item["status"] = "DECLINED"
                item["processor_response"] = {
                    "avs_code": "Y",
                    "cvv_code": "M",
                    "response_code": "5120",
                }
            self.captures[item["id"]] = (order["id"], item)
        else:
            self.authorizations[item["id"]] = (order["id"], item)
        unit.setdefault("payments", {}).setdefault(kind, []).append(item)
        order["status"] = "COMPLETED"
        return 201, order

    # -- payments ---------------------------------------------------------------------

    def _capture(self, order_id: str, auth: Obj, body: Obj) -> tuple[int, Obj]:
        if auth["status"] == "CAPTURED":
            return _unprocessable(
                "AUTHORIZATION_ALREADY_CAPTURED",
                "Authorization has been previously captured and hence cannot be captured again.",
            )
        if auth["status"] == "VOIDED":
            return _unprocessable(
                "AUTHORIZATION_VOIDED", "A voided authorization cannot be captured or reauthorized."
            )
        amount = body.get("amount") or auth["amount"]
        if _value(amount) > _value(auth["amount"]):
            return _unprocessable(
                "MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit."
            )
        capture: Obj = {
            "id": self._id("7TK53561YB803214S"),
            "status": "COMPLETED",
            "amount": dict(amount),
            "final_capture": body.get("final_capture", True),
            "create_time": _TIME,
            "supplementary_data": {
                "related_ids": {"order_id": order_id, "authorization_id": auth["id"]}
            },
        }
        auth["status"] = "CAPTURED" if capture["final_capture"] else "PARTIALLY_CAPTURED"
        self.captures[capture["id"]] = (order_id, capture)
        unit = self.orders[order_id]["purchase_units"][0]
        unit["payments"].setdefault("captures", []).append(capture)
        return 201, capture

    def _void(self, order_id: str, auth: Obj) -> tuple[int, Obj]:
        if auth["status"] in ("CAPTURED", "PARTIALLY_CAPTURED"):
            return _unprocessable(
                "PREVIOUSLY_CAPTURED",
                "Authorization has been previously captured and hence cannot be voided.",
            )
        if auth["status"] == "VOIDED":
            return _unprocessable(
                "PREVIOUSLY_VOIDED",
                "Authorization has been previously voided and hence cannot be voided again.",
            )
        auth["status"] = "VOIDED"
        return 200, auth

    def _refund(self, order_id: str, capture: Obj, body: Obj) -> tuple[int, Obj]:
        unit = self.orders[order_id]["purchase_units"][0]
        refunds = unit["payments"].setdefault("refunds", [])
        currency = capture["amount"]["currency_code"]
        done = sum((_value(r["amount"]) for r in refunds), Decimal(0))
        left = _value(capture["amount"]) - done
        if left <= 0:
            return _unprocessable(
                "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded."
            )
        amount = body.get("amount") or _amount(left, currency)
        if _value(amount) > left:
            return _unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has "
                "not yet been refunded.",
            )
        refund: Obj = {
            "id": self._id("1JU08902781691411"),
            "status": "COMPLETED",
            "amount": dict(amount),
            "note_to_payer": body.get("note_to_payer"),
            "create_time": _TIME,
            "links": [
                {
                    "href": f"{BASE}/v2/payments/captures/{capture['id']}",
                    "rel": "up",
                    "method": "GET",
                }
            ],
        }
        refunds.append(refund)
        capture["status"] = "REFUNDED" if _value(amount) == left else "PARTIALLY_REFUNDED"
        return 201, refund
