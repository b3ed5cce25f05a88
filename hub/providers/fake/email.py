"""Fake email: an in-memory outbox with fault injection, for tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hub._runtime import ProviderContext
from hub.capabilities.email import EmailMessage, EmailReceipt, RecipientResult
from hub.errors import HubError
from hub.providers._events import email_delivered
from hub.providers.fake._faults import FakeSettings, Faults


class FakeEmailProvider:
    def __init__(self, settings: FakeSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.faults = Faults(context.name, settings.latency)
        self.outbox: list[EmailMessage] = []
        self.receipts: dict[str, EmailReceipt] = {}
        self._emit = settings.emit_events
        self._context = context

    def fail_next(self, n: int = 1, error: HubError | None = None) -> None:
        self.faults.fail_next(n, error)

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
        await self.faults.before("send")
        return await self._accept(message, idempotency_key)

    async def _accept(self, message: EmailMessage, idempotency_key: str) -> EmailReceipt:
        if idempotency_key in self.receipts:
            return self.receipts[idempotency_key]
        message_id = uuid.uuid4().hex
        self.outbox.append(message)
        receipt = EmailReceipt(
            provider=self.name,
            provider_id=message_id,
            idempotency_key=idempotency_key,
            recipients=[
                RecipientResult(email=a.email, status="queued") for a in message.recipients
            ],
            raw={"id": message_id},
        )
        self.receipts[idempotency_key] = receipt
        if self._emit:
            await email_delivered(self._context, message, message_id)
        return receipt

    async def send_many(
        self, messages: Sequence[EmailMessage], *, idempotency_keys: Sequence[str]
    ) -> list[EmailReceipt | HubError]:
        await self.faults.before("send_many")
        results: list[EmailReceipt | HubError] = []
        for message, key in zip(messages, idempotency_keys, strict=True):
            results.append(await self._accept(message, key))
        return results

    async def aclose(self) -> None:
        return None
