"""The payment state machine shared by the built-in ``local`` (SQLite) and ``fake`` providers.

:class:`Ledger` holds every rule (which transition is allowed, how much may be captured or
refunded, idempotency, test cards) as synchronous code over a tiny :class:`LedgerStore`, so one
operation runs inside one storage transaction. :class:`LedgerProvider` is the async
``PaymentsProvider`` around it; a backend only says how to run a step against its storage.

Test payment methods behave like Stripe's test tokens: ``pm_card_chargeDeclined``,
``pm_card_insufficientFunds``, ``pm_card_expired`` and ``pm_card_incorrectCvc`` decline;
``pm_card_threeDSecureRequired`` needs 3-D Secure; anything else (``pm_card_visa``) succeeds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from pydantic import BaseModel

from hub._runtime import ProviderContext
from hub.capabilities._money import format_minor_units
from hub.capabilities.payments import Customer, Money, Payment, PaymentStatus, Refund
from hub.errors import InvalidRequest, NotFound, PaymentDeclined
from hub.webhooks.events import HubEvent

__all__ = ["DECLINES", "THREE_D_SECURE", "KeyRecord", "Ledger", "LedgerProvider", "LedgerStore"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

#: Test payment method -> (normalized decline code, what the card said).
DECLINES: dict[str, tuple[str, str]] = {
    "pm_card_chargeDeclined": ("card_declined", "the card was declined"),
    "pm_card_insufficientFunds": ("insufficient_funds", "the card has insufficient funds"),
    "pm_card_expired": ("expired_card", "the card has expired"),
    "pm_card_incorrectCvc": ("incorrect_cvc", "the card's security code is incorrect"),
}
THREE_D_SECURE = "pm_card_threeDSecureRequired"
DEFAULT_PAYMENT_METHOD = "pm_card_visa"

_REFUNDABLE = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED)


class KeyRecord(NamedTuple):
    """What an idempotency key was first used for (a fingerprint) and the result it got."""

    fingerprint: str
    result: str  # the result model as JSON


class LedgerStore(Protocol):
    """Storage for one ledger; every method runs inside the caller's transaction."""

    def load_payment(self, payment_id: str) -> Payment | None: ...
    def save_payment(self, payment: Payment) -> None: ...
    def load_customer(self, customer_id: str) -> Customer | None: ...
    def save_customer(self, customer: Customer) -> None: ...
    def load_key(self, key: str) -> KeyRecord | None: ...
    def save_key(self, key: str, record: KeyRecord) -> None: ...
    def all_payments(self) -> list[Payment]: ...


@dataclass(frozen=True, slots=True)
class Outcome(Generic[M]):
    """A step's result and the events to emit once its transaction has committed."""

    result: M
    events: tuple[HubEvent, ...] = ()


def fingerprint(operation: str, params: dict[str, Any]) -> str:
    """A canonical hash of a request, to tell a retry from a different request under one key."""
    canonical = json.dumps([operation, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


class Ledger:
    """The transitions, as pure steps over a store. Checks come first; writes only at the end."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    # -- operations ------------------------------------------------------------------------

    def create_customer(
        self,
        store: LedgerStore,
        *,
        email: str | None,
        name: str | None,
        metadata: dict[str, str],
        key: str,
    ) -> Outcome[Customer]:
        params = {"email": email, "name": name, "metadata": metadata}

        def step() -> Outcome[Customer]:
            customer_id = _new_id("cus")
            customer = Customer(
                id=customer_id,
                provider=self.provider,
                provider_id=customer_id,
                email=email,
                name=name,
                metadata=metadata,
                idempotency_key=key,
            )
            store.save_customer(customer)
            return Outcome(customer)

        return self._once(store, key, "create_customer", params, Customer, step)

    def charge(
        self,
        store: LedgerStore,
        amount: Money,
        *,
        customer: str | None,
        payment_method: str | None,
        capture: bool,
        description: str | None,
        metadata: dict[str, str],
        key: str,
    ) -> Outcome[Payment]:
        method = payment_method or DEFAULT_PAYMENT_METHOD
        params = {
            "amount": amount.amount,
            "currency": amount.currency,
            "customer": customer,
            "payment_method": method,
            "capture": capture,
            "description": description,
            "metadata": metadata,
        }

        def step() -> Outcome[Payment]:
            if customer is not None and store.load_customer(customer) is None:
                raise self._invalid(
                    f"no customer {customer!r}; create one with payments.create_customer() first",
                    field="customer",
                )
            payment_id = _new_id("pay")
            payment = Payment(
                id=payment_id,
                provider=self.provider,
                provider_id=payment_id,
                amount=amount.amount,
                currency=amount.currency,
                customer=customer,
                payment_method=method,
                capture_method="automatic" if capture else "manual",
                description=description,
                metadata=metadata,
                idempotency_key=key,
                **_opening(method, capture=capture, amount=amount.amount, payment_id=payment_id),
            )
            store.save_payment(payment)
            return Outcome(payment, self._events_for(payment))

        return self._once(store, key, "charge", params, Payment, step)

    def capture(
        self, store: LedgerStore, payment_id: str, amount: Money | None, *, key: str
    ) -> Outcome[Payment]:
        params = {"payment_id": payment_id, **_amount_params(amount)}

        def step() -> Outcome[Payment]:
            payment = self.get(store, payment_id)
            if payment.status is not PaymentStatus.AUTHORIZED:
                raise self._invalid(self._why_not("capture", payment))
            take = self._amount(payment, amount, limit=payment.amount, operation="capture")
            captured = payment.model_copy(
                update={
                    "status": PaymentStatus.CAPTURED,
                    "amount_captured": take,
                    "idempotency_key": key,
                }
            )
            store.save_payment(captured)
            return Outcome(
                captured,
                (
                    self._event("payment.captured", captured),
                    self._event("payment.succeeded", captured),
                ),
            )

        return self._once(store, key, "capture", params, Payment, step)

    def cancel(self, store: LedgerStore, payment_id: str, *, key: str) -> Outcome[Payment]:
        def step() -> Outcome[Payment]:
            payment = self.get(store, payment_id)
            if payment.status not in (PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION):
                raise self._invalid(self._why_not("cancel", payment))
            canceled = payment.model_copy(
                update={
                    "status": PaymentStatus.CANCELED,
                    "next_action": None,
                    "client_secret": None,
                    "idempotency_key": key,
                }
            )
            store.save_payment(canceled)
            return Outcome(canceled, (self._event("payment.canceled", canceled),))

        return self._once(store, key, "cancel", {"payment_id": payment_id}, Payment, step)

    def refund(
        self,
        store: LedgerStore,
        payment_id: str,
        amount: Money | None,
        *,
        reason: str | None,
        key: str,
    ) -> Outcome[Refund]:
        params = {"payment_id": payment_id, "reason": reason, **_amount_params(amount)}

        def step() -> Outcome[Refund]:
            payment = self.get(store, payment_id)
            if payment.status not in _REFUNDABLE:
                raise self._invalid(self._why_not("refund", payment))
            give = self._amount(payment, amount, limit=payment.refundable, operation="refund")
            total = payment.amount_refunded + give
            fully = total == payment.amount_captured
            refunded = payment.model_copy(
                update={
                    "status": PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED,
                    "amount_refunded": total,
                    "idempotency_key": key,
                }
            )
            store.save_payment(refunded)
            refund_id = _new_id("re")
            refund = Refund(
                id=refund_id,
                provider=self.provider,
                provider_id=refund_id,
                payment_id=payment_id,
                amount=give,
                currency=payment.currency,
                reason=reason,
                idempotency_key=key,
                payment=refunded,
            )
            event = self._event("payment.refunded", refunded, refund_id=refund_id, refunded=give)
            return Outcome(refund, (event,))

        return self._once(store, key, "refund", params, Refund, step)

    def complete_action(
        self, store: LedgerStore, payment_id: str, *, approve: bool
    ) -> Outcome[Payment]:
        """The customer finished (or failed) 3-D Secure: the payment moves on as charged."""
        payment = self.get(store, payment_id)
        if payment.status is not PaymentStatus.REQUIRES_ACTION:
            raise self._invalid(f"payment {payment_id!r} is {payment.status}, not requires_action")
        update: dict[str, Any] = {"next_action": None, "client_secret": None}
        if not approve:
            update |= {
                "status": PaymentStatus.FAILED,
                "failure_code": "authentication_failed",
                "failure_message": "the customer failed 3-D Secure authentication",
            }
        elif payment.capture_method == "automatic":
            update |= {"status": PaymentStatus.CAPTURED, "amount_captured": payment.amount}
        else:
            update |= {"status": PaymentStatus.AUTHORIZED}
        done = payment.model_copy(update=update)
        store.save_payment(done)
        return Outcome(done, self._events_for(done))

    def get(self, store: LedgerStore, payment_id: str) -> Payment:
        payment = store.load_payment(payment_id)
        if payment is None:
            raise NotFound(
                f"no payment {payment_id!r} at payments provider {self.provider!r}",
                provider=self.provider,
                status=404,
            )
        return payment

    # -- rules -----------------------------------------------------------------------------

    def _once(
        self,
        store: LedgerStore,
        key: str,
        operation: str,
        params: dict[str, Any],
        model: type[M],
        step: Callable[[], Outcome[M]],
    ) -> Outcome[M]:
        """Run ``step`` once per key: a retry gets the first result; another request, an error."""
        request = fingerprint(operation, params)
        earlier = store.load_key(key)
        if earlier is not None:
            if earlier.fingerprint != request:
                raise self._invalid(
                    f"idempotency key {key!r} reused with different parameters; use a new key "
                    "for a new request",
                    field="idempotency_key",
                )
            return Outcome(model.model_validate_json(earlier.result))
        outcome = step()
        store.save_key(key, KeyRecord(request, outcome.result.model_dump_json()))
        return outcome

    def _amount(self, payment: Payment, amount: Money | None, *, limit: int, operation: str) -> int:
        if amount is None:
            return limit
        if amount.currency != payment.currency:
            raise self._invalid(
                f"cannot {operation} {amount} on a {payment.currency} payment", field="amount"
            )
        if amount.amount > limit:
            what = "refundable" if operation == "refund" else "capturable"
            detail = (
                f" (captured {_fmt(payment.amount_captured, payment)}, already refunded "
                f"{_fmt(payment.amount_refunded, payment)})"
                if operation == "refund"
                else ""
            )
            raise self._invalid(
                f"cannot {operation} {amount} on payment {payment.id!r}: only "
                f"{_fmt(limit, payment)} is {what}{detail}",
                field="amount",
            )
        return amount.amount

    def _why_not(self, operation: str, payment: Payment) -> str:
        status = payment.status
        head = f"cannot {operation} payment {payment.id!r}: it is {status}"
        if operation == "cancel" and status in _REFUNDABLE:
            return f"{head} (already captured); refund it instead with payments.refund()"
        if operation == "refund" and status is PaymentStatus.AUTHORIZED:
            return f"{head} and was never captured; cancel it instead with payments.cancel()"
        if status is PaymentStatus.REQUIRES_ACTION:
            return f"{head}; the customer must complete 3-D Secure first"
        return head

    def _invalid(self, message: str, *, field: str | None = None) -> InvalidRequest:
        return InvalidRequest(message, field=field, provider=self.provider)

    def _events_for(self, payment: Payment) -> tuple[HubEvent, ...]:
        kind = {PaymentStatus.CAPTURED: "payment.succeeded", PaymentStatus.FAILED: "payment.failed"}
        return (self._event(kind[payment.status], payment),) if payment.status in kind else ()

    def _event(self, type_: str, payment: Payment, **data: Any) -> HubEvent:
        return HubEvent(
            type=type_,
            provider=self.provider,
            capability="payments",
            provider_event_id=_new_id("evt"),
            subject_id=payment.id,
            data={
                "status": payment.status.value,
                "amount": payment.amount,
                "amount_captured": payment.amount_captured,
                "amount_refunded": payment.amount_refunded,
                "currency": payment.currency,
                "failure_code": payment.failure_code,
                **data,
            },
        )


def _opening(method: str, *, capture: bool, amount: int, payment_id: str) -> dict[str, Any]:
    """Where a new payment starts; the (test) payment method decides."""
    if method in DECLINES:
        code, message = DECLINES[method]
        return {"status": PaymentStatus.FAILED, "failure_code": code, "failure_message": message}
    if method == THREE_D_SECURE:
        return {
            "status": PaymentStatus.REQUIRES_ACTION,
            "client_secret": f"{payment_id}_secret_{secrets.token_hex(12)}",
            "next_action": {"type": "three_d_secure"},
        }
    if capture:
        return {"status": PaymentStatus.CAPTURED, "amount_captured": amount}
    return {"status": PaymentStatus.AUTHORIZED}


def _amount_params(amount: Money | None) -> dict[str, Any]:
    return {
        "amount": None if amount is None else amount.amount,
        "currency": None if amount is None else amount.currency,
    }


def _fmt(minor: int, payment: Payment) -> str:
    return format_minor_units(minor, payment.currency)


class LedgerProvider(ABC):
    """The ``PaymentsProvider`` of the built-in backends; subclasses implement :meth:`_run`."""

    def __init__(self, context: ProviderContext, *, emit_events: bool = True) -> None:
        self.name = context.name
        self.ledger = Ledger(context.name)
        self._context = context
        self._emit_events = emit_events

    @abstractmethod
    async def _run(self, operation: str, step: Callable[[LedgerStore], T]) -> T:
        """Run ``step`` against the store in one transaction."""

    async def create_customer(
        self, email: str | None, name: str | None, metadata: dict[str, str], *, idempotency_key: str
    ) -> Customer:
        outcome = await self._run(
            "create_customer",
            lambda s: self.ledger.create_customer(
                s, email=email, name=name, metadata=metadata, key=idempotency_key
            ),
        )
        return await self._finish(outcome)

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
        outcome = await self._run(
            "charge",
            lambda s: self.ledger.charge(
                s,
                amount,
                customer=customer,
                payment_method=payment_method,
                capture=capture,
                description=description,
                metadata=metadata,
                key=idempotency_key,
            ),
        )
        return await self._finish(outcome)

    async def capture(
        self, payment_id: str, amount: Money | None, *, idempotency_key: str
    ) -> Payment:
        outcome = await self._run(
            "capture", lambda s: self.ledger.capture(s, payment_id, amount, key=idempotency_key)
        )
        return await self._finish(outcome)

    async def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment:
        outcome = await self._run(
            "cancel", lambda s: self.ledger.cancel(s, payment_id, key=idempotency_key)
        )
        return await self._finish(outcome)

    async def refund(
        self, payment_id: str, amount: Money | None, *, reason: str | None, idempotency_key: str
    ) -> Refund:
        outcome = await self._run(
            "refund",
            lambda s: self.ledger.refund(s, payment_id, amount, reason=reason, key=idempotency_key),
        )
        return await self._finish(outcome)

    async def get(self, payment_id: str) -> Payment:
        return await self._run("get", lambda s: self.ledger.get(s, payment_id))

    async def complete_action(self, payment_id: str, *, approve: bool = True) -> Payment:
        """Stand in for the customer finishing 3-D Secure in the browser (dev and tests)."""
        outcome = await self._run(
            "complete_action", lambda s: self.ledger.complete_action(s, payment_id, approve=approve)
        )
        return await self._finish(outcome)

    async def list_payments(self) -> list[Payment]:
        """Every payment in the ledger, oldest first (to inspect in dev and tests)."""
        return await self._run("list_payments", lambda s: s.all_payments())

    async def aclose(self) -> None:
        return None

    async def _finish(self, outcome: Outcome[M]) -> M:
        """Emit the committed step's events; a declined payment raises PaymentDeclined."""
        if self._emit_events:
            for event in outcome.events:
                await self._context.emit(event)
        result = outcome.result
        if isinstance(result, Payment) and result.status is PaymentStatus.FAILED:
            code = result.failure_code or "card_declined"
            raise PaymentDeclined(
                f"payment {result.id!r} declined: {result.failure_message} ({code})",
                provider=self.name,
                decline_code=code,
                vendor_code=code,
                status=402,
                raw=result.model_dump(mode="json"),
            )
        return result
