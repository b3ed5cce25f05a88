"""Local payments: the shared ledger in a SQLite file, so development needs no vendor account.

Each step runs in a worker thread on its own connection inside ``BEGIN IMMEDIATE``: SQLite lets
one writer in at a time, so two concurrent refunds (even from two processes) are serialized and
the second one sees the first.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

import anyio
from pydantic import Field

from hub._runtime import ProviderContext
from hub.capabilities.payments import Customer, Payment
from hub.providers._ledger import KeyRecord, LedgerProvider, LedgerStore
from hub.settings import ProviderSettings

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL
);
"""


class LocalPaymentsSettings(ProviderSettings):
    path: Path | None = Field(None, description="the SQLite file; <data_dir>/payments.sqlite3")


class SqliteLedgerStore:
    """A LedgerStore over one open connection, used inside one transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def load_payment(self, payment_id: str) -> Payment | None:
        row = self._db.execute("SELECT body FROM payments WHERE id = ?", (payment_id,)).fetchone()
        return None if row is None else Payment.model_validate_json(row[0])

    def save_payment(self, payment: Payment) -> None:
        self._db.execute(
            "INSERT INTO payments (id, seq, body) VALUES (?, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM payments), ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (payment.id, payment.model_dump_json()),
        )

    def load_customer(self, customer_id: str) -> Customer | None:
        row = self._db.execute("SELECT body FROM customers WHERE id = ?", (customer_id,)).fetchone()
        return None if row is None else Customer.model_validate_json(row[0])

    def save_customer(self, customer: Customer) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO customers (id, body) VALUES (?, ?)",
            (customer.id, customer.model_dump_json()),
        )

    def load_key(self, key: str) -> KeyRecord | None:
        row = self._db.execute(
            "SELECT fingerprint, result FROM idempotency_keys WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else KeyRecord(row[0], row[1])

    def save_key(self, key: str, record: KeyRecord) -> None:
        self._db.execute(
            "INSERT INTO idempotency_keys (key, fingerprint, result) VALUES (?, ?, ?)",
            (key, record.fingerprint, record.result),
        )

    def all_payments(self) -> list[Payment]:
        rows = self._db.execute("SELECT body FROM payments ORDER BY seq").fetchall()
        return [Payment.model_validate_json(body) for (body,) in rows]


class LocalPaymentsProvider(LedgerProvider):
    """Payments in ``<data_dir>/payments.sqlite3``; they survive restarts of the app."""

    def __init__(self, settings: LocalPaymentsSettings, context: ProviderContext) -> None:
        super().__init__(context)
        self.path = settings.path or context.data_dir / "payments.sqlite3"
        self._ready = False
        self._init_lock = threading.Lock()

    async def _run(self, operation: str, step: Callable[[LedgerStore], T]) -> T:
        return await anyio.to_thread.run_sync(self._transact, step)

    def _transact(self, step: Callable[[LedgerStore], T]) -> T:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = step(SqliteLedgerStore(db))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._create()
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), not the module's.
        with closing(sqlite3.connect(self.path, timeout=30.0, isolation_level=None)) as db:
            yield db

    def _create(self) -> None:
        with self._init_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=30.0, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
            self._ready = True
