"""Fake SMS: an in-memory outbox with fault injection, for tests.

Tests read one-time codes from the outbox bodies, as a user reads them on a phone; the fake
offers no other way to learn a code.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hub._runtime import ProviderContext
from hub.capabilities.sms import SmsMessage, SmsReceipt
from hub.errors import HubError
from hub.providers._events import sms_delivered
from hub.providers.fake._faults import FakeSettings, Faults


class FakeSmsProvider:
    def __init__(self, settings: FakeSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.faults = Faults(context.name, settings.latency)
        self.outbox: list[SmsMessage] = []
        self.receipts: dict[str, SmsReceipt] = {}
        self._emit = settings.emit_events
        self._context = context

    def fail_next(self, n: int = 1, error: HubError | None = None) -> None:
        self.faults.fail_next(n, error)

    async def send(self, message: SmsMessage, *, idempotency_key: str) -> SmsReceipt:
        await self.faults.before("send")
        return await self._accept(message, idempotency_key)

    async def send_many(
        self, messages: Sequence[SmsMessage], *, idempotency_keys: Sequence[str]
    ) -> list[SmsReceipt | HubError]:
        await self.faults.before("send_many")
        results: list[SmsReceipt | HubError] = []
        for message, key in zip(messages, idempotency_keys, strict=True):
            results.append(await self._accept(message, key))
        return results

    async def _accept(self, message: SmsMessage, idempotency_key: str) -> SmsReceipt:
        if idempotency_key in self.receipts:
            return self.receipts[idempotency_key]
        message_id = uuid.uuid4().hex
        self.outbox.append(message)
        receipt = SmsReceipt(
            provider=self.name,
            provider_id=message_id,
            idempotency_key=idempotency_key,
            to=message.to,
            status="queued",
            segments=message.segments,
            raw={"id": message_id},
        )
        self.receipts[idempotency_key] = receipt
        if self._emit:
            await sms_delivered(self._context, message, message_id, receipt.segments)
        return receipt

    async def aclose(self) -> None:
        return None
