"""The PayPal payments provider: Orders v2 and Payments v2 over ``hub.http``, OAuth2 bearer.

Flows (the hub's payment id is the order id; see :mod:`hub_paypal.mapping`):

* ``charge`` with ``payment_method`` (a vault id of a saved card / PayPal / Venmo): one
  ``POST /v2/checkout/orders`` with ``payment_source.<kind>.vault_id``; PayPal authorizes or
  captures (``intent`` AUTHORIZE / CAPTURE) in that call, as it does for saved methods.
* ``charge`` without one: the order is created and comes back ``requires_action`` with the
  approve link as ``next_action``; after the buyer approved, ``capture`` completes it
  (``/orders/{id}/capture``, or ``/orders/{id}/authorize`` then the authorization's capture).
* ``capture`` -> ``POST /v2/payments/authorizations/{id}/capture`` (``final_capture``: what
  is not captured is released); ``cancel`` -> ``…/authorizations/{id}/void``; ``refund`` ->
  ``POST /v2/payments/captures/{id}/refund``; ``get`` -> ``GET /v2/checkout/orders/{id}``.

Each call is answered with the order as it stands afterwards (one more ``GET``). Mutating calls
carry ``PayPal-Request-Id``; since PayPal answers a reused id with the first request's result
whatever the new body says, :class:`~hub_paypal._request_ids.RequestIds` refuses a key reused
for another request. Customers are not supported (Orders v2 has none).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from hub.capabilities.payments import (
    Customer,
    Money,
    Payment,
    PaymentStatus,
    Refund,
    payment_declined,
)
from hub.errors import (
    AuthenticationError,
    ConfigurationError,
    HubError,
    InvalidRequest,
    PaymentDeclined,
    ProviderError,
    UnsupportedFeature,
)
from hub.http import HttpProvider
from hub.settings import Environment
from hub_paypal._request_ids import RequestIds
from hub_paypal._token import TokenCache
from hub_paypal.mapping import (
    amount_of,
    authorization_of,
    capture_of,
    decline_of,
    money_body,
    normalize_issue,
    order_body,
    payment_from,
)
from hub_paypal.settings import LIVE_URL, SANDBOX_URL, PayPalSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["PayPalProvider"]

Obj = dict[str, Any]
_FORM = "application/x-www-form-urlencoded"


class PayPalProvider(HttpProvider):
    """``PaymentsProvider`` for PayPal; built by the hub as ``PayPalProvider(settings, ctx)``."""

    idempotency_header = "PayPal-Request-Id"

    def __init__(self, settings: PayPalSettings, context: ProviderContext) -> None:
        if not settings.client_id or settings.client_secret is None:
            raise ConfigurationError(
                "payments provider 'paypal' needs REST app credentials: set PAYPAL_CLIENT_ID "
                "and PAYPAL_CLIENT_SECRET (or HUB_PAYMENTS__PAYPAL__CLIENT_ID / __CLIENT_SECRET)"
            )
        secret = settings.client_secret.get_secret_value()
        default = LIVE_URL if context.env is Environment.PRODUCTION else SANDBOX_URL
        super().__init__(context, base_url=settings.base_url or default, secrets=[secret])
        self.settings = settings
        basic = base64.b64encode(f"{settings.client_id}:{secret}".encode()).decode("ascii")
        self._basic = f"Basic {basic}"
        self._tokens = TokenCache(context.runtime.clock)
        prefix = f"{context.hub_settings.state.prefix}{context.capability}:{context.name}:rid:"
        self._request_ids = RequestIds(
            context.state, prefix=prefix, ttl=settings.request_id_ttl, provider=context.name
        )

    # -- PaymentsProvider -------------------------------------------------------------

    async def create_customer(
        self, email: str | None, name: str | None, metadata: dict[str, str], *, idempotency_key: str
    ) -> Customer:
        raise self._no_customers()

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
    ) -> Payment:
        if customer is not None:
            raise self._no_customers()
        body = order_body(
            amount,
            payment_method=payment_method,
            capture=capture,
            description=description,
            metadata=metadata,
            vault_source=self.settings.vault_source,
            return_url=self.settings.return_url,
            cancel_url=self.settings.cancel_url,
        )
        async with self._request_ids.hold(idempotency_key, "charge", body):
            order = await self._call("POST", "/v2/checkout/orders", json=body, key=idempotency_key)
        payment = payment_from(order, provider=self.name, idempotency_key=idempotency_key)
        if payment.status is PaymentStatus.FAILED:
            declined = decline_of(order)
            raise payment_declined(
                payment,
                vendor_code=declined[1] if declined else None,
                status=422,
                raw={"order": payment.id, "status": order.get("status")},
            )
        return payment

    async def capture(
        self, payment_id: str, amount: Money | None, *, idempotency_key: str
    ) -> Payment:
        params = {"order": payment_id, "amount": _plain(amount)}
        async with self._request_ids.hold(idempotency_key, "capture", params):
            order = await self._order(payment_id)
            if order.get("status") == "APPROVED":
                order = await self._complete_approved(order, amount, idempotency_key)
                if order.get("intent") == "CAPTURE":
                    return await self._payment(payment_id, idempotency_key)
            authorization = authorization_of(order)
            if authorization is None:
                raise self._cannot("capture", order, "it has no authorization to capture")
            body: Obj = {"final_capture": True}
            if amount is not None:
                body["amount"] = money_body(amount)
            path = f"/v2/payments/authorizations/{_segment(authorization['id'])}/capture"
            await self._call("POST", path, json=body, key=idempotency_key)
        return await self._payment(payment_id, idempotency_key)

    async def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment:
        async with self._request_ids.hold(idempotency_key, "cancel", {"order": payment_id}):
            order = await self._order(payment_id)
            authorization = authorization_of(order)
            if authorization is None:
                raise self._cannot(
                    "cancel",
                    order,
                    "only an authorization can be voided; an order the buyer never approved "
                    "expires by itself, a captured one needs a refund",
                )
            path = f"/v2/payments/authorizations/{_segment(authorization['id'])}/void"
            await self._call("POST", path, key=idempotency_key)
        return await self._payment(payment_id, idempotency_key)

    async def refund(
        self, payment_id: str, amount: Money | None, *, reason: str | None, idempotency_key: str
    ) -> Refund:
        params = {"order": payment_id, "amount": _plain(amount), "reason": reason}
        async with self._request_ids.hold(idempotency_key, "refund", params):
            order = await self._order(payment_id)
            captured = capture_of(order)
            if captured is None:
                raise self._cannot(
                    "refund", order, "nothing was captured, so nothing can be refunded"
                )
            body: Obj = {}
            if amount is not None:
                body["amount"] = money_body(amount)
            if reason:
                body["note_to_payer"] = reason
            path = f"/v2/payments/captures/{_segment(captured['id'])}/refund"
            refund = await self._call("POST", path, json=body, key=idempotency_key)
        payment = await self._payment(payment_id, idempotency_key)
        if isinstance(refund.get("amount"), dict):
            given, _ = amount_of(refund["amount"])
        else:  # a minimal answer: what was asked for, or all that was left
            given = amount.amount if amount is not None else payment.amount_refunded
        return Refund(
            id=refund["id"],
            provider=self.name,
            provider_id=refund["id"],
            payment_id=payment_id,
            amount=given,
            currency=payment.currency,
            reason=reason,
            idempotency_key=idempotency_key,
            payment=payment,
            raw=refund,
        )

    async def get(self, payment_id: str) -> Payment:
        return await self._payment(payment_id, None)

    # -- the vendor's errors ----------------------------------------------------------

    def error_message(self, response: httpx.Response) -> str:
        body = _body(response)
        message = body.get("message") or body.get("error_description")
        if not isinstance(message, str):
            return super().error_message(response)
        detail = _detail(body)
        said = detail.get("description")
        debug = body.get("debug_id")
        return (
            message
            + (f" {said}" if isinstance(said, str) else "")
            + (f" (debug_id {debug})" if isinstance(debug, str) else "")
        )

    def vendor_code(self, response: httpx.Response) -> str | None:
        body = _body(response)
        for code in (_detail(body).get("issue"), body.get("name"), body.get("error")):
            if isinstance(code, str):
                return code
        return super().vendor_code(response)

    def map_error(self, response: httpx.Response) -> HubError | None:
        """Instrument issues are declines; 400/422 are the caller's (named field)."""
        body = _body(response)
        detail = _detail(body)
        decline = normalize_issue(detail.get("issue"))
        if decline is not None:
            return self.provider_error(
                PaymentDeclined,
                response,
                f"paypal: declined ({decline}): {self.error_message(response)}",
                decline_code=decline,
            )
        if response.status_code in (400, 422):
            field = detail.get(
                "field"
            )  # a JSON pointer: "/purchase_units/@reference_id=='default'/amount"
            return self.invalid_request(
                response, field=field.rsplit("/", 1)[-1] if isinstance(field, str) else None
            )
        return None

    # -- internals --------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, float]:
        """``POST /v1/oauth2/token`` (client credentials): the token and its lifetime."""
        response = await self.request(
            "POST",
            "/v1/oauth2/token",
            content=b"grant_type=client_credentials",
            headers={"Authorization": self._basic, "Content-Type": _FORM},
        )
        body = _body(response)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int | float):
            raise ProviderError(
                "paypal: the OAuth2 answer had no access_token/expires_in",
                provider=self.name,
                status=response.status_code,
                retryable=False,
                failover_safe=True,
            )
        self.secrets.add(token)
        return token, float(expires_in)

    async def _call(
        self, method: str, path: str, *, json: Obj | None = None, key: str | None = None
    ) -> Obj:
        """One API call with the shared bearer token; a refused cached token is renewed once."""
        token, fresh = await self._tokens.get(self._fetch_token)
        while True:
            headers = {"Authorization": f"Bearer {token}", "Prefer": "return=representation"}
            try:
                response = await self.request(
                    method, path, json=json, headers=headers, idempotency_key=key
                )
            except AuthenticationError as exc:
                if exc.status != 401 or fresh:
                    raise
                self._tokens.invalidate(token)
                token, fresh = await self._tokens.get(self._fetch_token)
                continue
            return _body(response)

    async def _order(self, order_id: str) -> Obj:
        return await self._call("GET", f"/v2/checkout/orders/{_segment(order_id)}")

    async def _payment(self, order_id: str, key: str | None) -> Payment:
        order = await self._order(order_id)
        return payment_from(order, provider=self.name, idempotency_key=key)

    async def _complete_approved(self, order: Obj, amount: Money | None, key: str) -> Obj:
        """Finish an order the buyer approved: capture it, or authorize it to capture next."""
        whole, _ = amount_of((order.get("purchase_units") or [{}])[0].get("amount"))
        intent = order.get("intent")
        if intent == "CAPTURE" and amount is not None and amount.amount != whole:
            raise InvalidRequest(
                "PayPal captures an approved CAPTURE order in full; charge with capture=False "
                "(intent AUTHORIZE) to capture part of it",
                field="amount",
                provider=self.name,
            )
        action = "capture" if intent == "CAPTURE" else "authorize"
        sub_key = key if action == "capture" else f"{key}-authorize"
        path = f"/v2/checkout/orders/{_segment(order['id'])}/{action}"
        return await self._call("POST", path, json={}, key=sub_key)

    def _no_customers(self) -> UnsupportedFeature:
        return UnsupportedFeature(
            "PayPal Orders v2 has no customer objects; save payment methods in PayPal's vault "
            "and pass the vault id as payment_method",
            feature="customers",
            provider=self.name,
        )

    def _cannot(self, operation: str, order: Obj, why: str) -> InvalidRequest:
        status = payment_from(order, provider=self.name, idempotency_key=None).status
        return InvalidRequest(
            f"cannot {operation} payment {order.get('id')!r}: it is {status}; {why}",
            provider=self.name,
        )


def _segment(value: str) -> str:
    return quote(value, safe="")


def _plain(amount: Money | None) -> Obj | None:
    return None if amount is None else {"amount": amount.amount, "currency": amount.currency}


def _body(response: httpx.Response) -> Obj:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _detail(body: Obj) -> Obj:
    details = body.get("details")
    first = details[0] if isinstance(details, list) and details else None
    return first if isinstance(first, dict) else {}
