"""The Stripe payments provider: PaymentIntents over ``hub.http``, form-encoded, keyed.

Every mutating call carries the hub's idempotency key as ``Idempotency-Key``, so the pipeline may
repeat it after a timeout and Stripe returns the first result instead of charging twice (and
refuses the key for different parameters). Requests are pinned to ``api_version``.

A payment's ``id`` is the PaymentIntent id (``pi_…``); a refund's is the Refund id (``re_…``).
Each call asks Stripe to expand ``latest_charge``, whose ``amount_refunded`` tells captured from
(partially) refunded, so one round trip answers each hub call.
"""

from __future__ import annotations

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
    ConfigurationError,
    HubError,
    InvalidRequest,
    PaymentDeclined,
    Unavailable,
)
from hub.http import HttpProvider
from hub_stripe._form import form_body
from hub_stripe.mapping import (
    REFUND_REASONS,
    charge_params,
    customer_from,
    normalize_decline,
    payment_from,
    refund_from,
    to_stripe_amount,
    vendor_decline,
)
from hub_stripe.settings import StripeSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["StripeProvider"]

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_EXPAND_CHARGE = {"expand": ["latest_charge"]}


class StripeProvider(HttpProvider):
    """``PaymentsProvider`` for Stripe; built by the hub as ``StripeProvider(settings, ctx)``."""

    idempotency_header = "Idempotency-Key"

    def __init__(self, settings: StripeSettings, context: ProviderContext) -> None:
        if settings.secret_key is None:
            raise ConfigurationError(
                "payments provider 'stripe' needs a secret key: set STRIPE_SECRET_KEY or "
                "HUB_PAYMENTS__STRIPE__SECRET_KEY (an sk_test_… key outside production)"
            )
        key = settings.secret_key.get_secret_value()
        super().__init__(
            context,
            base_url=settings.base_url,
            headers={"Authorization": f"Bearer {key}", "Stripe-Version": settings.api_version},
            secrets=[key],
        )
        self.settings = settings

    # -- PaymentsProvider -------------------------------------------------------------

    async def create_customer(
        self, email: str | None, name: str | None, metadata: dict[str, str], *, idempotency_key: str
    ) -> Customer:
        params = {"email": email, "name": name, "metadata": metadata or None}
        customer = await self._post("/v1/customers", params, idempotency_key)
        return customer_from(customer, provider=self.name, idempotency_key=idempotency_key)

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
        params = charge_params(
            amount,
            customer=customer,
            payment_method=payment_method,
            capture=capture,
            description=description,
            metadata=metadata,
            return_url=self.settings.return_url,
        )
        intent = await self._post("/v1/payment_intents", params, idempotency_key)
        return self._unless_failed(intent, idempotency_key)

    async def capture(
        self, payment_id: str, amount: Money | None, *, idempotency_key: str
    ) -> Payment:
        params: dict[str, Any] = dict(_EXPAND_CHARGE)
        if amount is not None:
            params["amount_to_capture"] = to_stripe_amount(amount)
        intent = await self._post(_intent_path(payment_id, "capture"), params, idempotency_key)
        return payment_from(intent, provider=self.name, idempotency_key=idempotency_key)

    async def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment:
        intent = await self._post(
            _intent_path(payment_id, "cancel"), _EXPAND_CHARGE, idempotency_key
        )
        return payment_from(intent, provider=self.name, idempotency_key=idempotency_key)

    async def refund(
        self, payment_id: str, amount: Money | None, *, reason: str | None, idempotency_key: str
    ) -> Refund:
        if reason is not None and reason not in REFUND_REASONS:
            raise InvalidRequest(
                f"Stripe accepts a refund reason of {', '.join(sorted(REFUND_REASONS))}, "
                f"not {reason!r}; pass one of those or none",
                field="reason",
                provider=self.name,
            )
        params = {
            "payment_intent": payment_id,
            "amount": None if amount is None else to_stripe_amount(amount),
            "reason": reason,
            "expand": ["payment_intent.latest_charge"],
        }
        refund = await self._post("/v1/refunds", params, idempotency_key)
        return refund_from(refund, provider=self.name, idempotency_key=idempotency_key)

    async def get(self, payment_id: str) -> Payment:
        response = await self.request(
            "GET", _intent_path(payment_id), params={"expand[]": "latest_charge"}
        )
        return payment_from(self.json_object(response), provider=self.name, idempotency_key=None)

    # -- the vendor's errors ----------------------------------------------------------

    def error_message(self, response: httpx.Response) -> str:
        message = _error(response).get("message")
        return message if isinstance(message, str) else super().error_message(response)

    def vendor_code(self, response: httpx.Response) -> str | None:
        error = _error(response)
        for field in ("decline_code", "code", "type"):
            if isinstance(error.get(field), str):
                return str(error[field])
        return super().vendor_code(response)

    def map_error(self, response: httpx.Response) -> HubError | None:
        """Card errors are declines; 400s are the caller's; 409 is a key still in flight."""
        error = _error(response)
        status = response.status_code
        if status == 402 or error.get("type") == "card_error":
            decline = normalize_decline(error.get("code"), error.get("decline_code"))
            intent = error.get("payment_intent")
            which = (
                f"payment {intent['id']} " if isinstance(intent, dict) and "id" in intent else ""
            )
            return self.provider_error(
                PaymentDeclined,
                response,
                f"stripe: {which}declined ({decline}): {self.error_message(response)}",
                decline_code=decline,
            )
        if status == 409:
            return self.provider_error(
                Unavailable,
                response,
                "stripe: another request with this idempotency key is still in progress; "
                "retry with the same key to get its result",
                retryable=True,
                failover_safe=False,
            )
        if status == 400:
            if error.get("type") == "idempotency_error":
                return self.invalid_request(
                    response,
                    field="idempotency_key",
                    hint="use a new idempotency key for a different request",
                )
            param = error.get("param")
            return self.invalid_request(response, field=param if isinstance(param, str) else None)
        return None

    # -- internals --------------------------------------------------------------------

    async def _post(self, path: str, params: dict[str, Any], key: str) -> dict[str, Any]:
        response = await self.request(
            "POST", path, content=form_body(params), headers=_FORM, idempotency_key=key
        )
        return self.json_object(response)

    def _unless_failed(self, intent: dict[str, Any], key: str) -> Payment:
        """The charged Payment; a PaymentIntent that came back failed raises PaymentDeclined."""
        payment = payment_from(intent, provider=self.name, idempotency_key=key)
        if payment.status is PaymentStatus.FAILED:
            error = intent.get("last_payment_error") or {}
            raise payment_declined(
                payment,
                vendor_code=vendor_decline(error.get("code"), error.get("decline_code")),
                status=402,
                raw={"payment_intent": payment.id, "last_payment_error": error},
            )
        return payment


def _intent_path(payment_id: str, action: str = "") -> str:
    path = f"/v1/payment_intents/{quote(payment_id, safe='')}"
    return f"{path}/{action}" if action else path


def _error(response: httpx.Response) -> dict[str, Any]:
    """Stripe's ``{"error": {...}}`` object, or an empty one for any other body."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}
