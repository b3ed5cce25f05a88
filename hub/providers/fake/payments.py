"""Fake payments: the shared ledger over plain dicts, with fault injection, for tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hub._runtime import ProviderContext
from hub.capabilities.payments import Customer, Payment
from hub.errors import HubError
from hub.providers._ledger import KeyRecord, LedgerProvider, LedgerStore
from hub.providers.fake._faults import ErrorFactory, FakeSettings, Faults

T = TypeVar("T")


class MemoryLedgerStore:
    """A LedgerStore in dicts; a step runs without awaiting, so it is atomic on the event loop."""

    def __init__(self) -> None:
        self.payments: dict[str, Payment] = {}
        self.customers: dict[str, Customer] = {}
        self.keys: dict[str, KeyRecord] = {}

    def load_payment(self, payment_id: str) -> Payment | None:
        return self.payments.get(payment_id)

    def save_payment(self, payment: Payment) -> None:
        self.payments[payment.id] = payment

    def load_customer(self, customer_id: str) -> Customer | None:
        return self.customers.get(customer_id)

    def save_customer(self, customer: Customer) -> None:
        self.customers[customer.id] = customer

    def load_key(self, key: str) -> KeyRecord | None:
        return self.keys.get(key)

    def save_key(self, key: str, record: KeyRecord) -> None:
        self.keys[key] = record

    def all_payments(self) -> list[Payment]:
        return list(self.payments.values())


class FakePaymentsProvider(LedgerProvider):
    """Payments kept in memory; ``faults.calls`` records every call the provider received."""

    def __init__(self, settings: FakeSettings, context: ProviderContext) -> None:
        super().__init__(context, emit_events=settings.emit_events)
        self.faults = Faults(context.name, settings.latency)
        self.store = MemoryLedgerStore()

    def fail_next(self, n: int = 1, error: HubError | ErrorFactory | None = None) -> None:
        self.faults.fail_next(n, error)

    async def _run(self, operation: str, step: Callable[[LedgerStore], T]) -> T:
        if operation != "list_payments":  # inspecting the fake is not a call to the vendor
            await self.faults.before(operation)
        return step(self.store)
