"""Local SMS: each message becomes one JSON line in ``.hub/sms.jsonl``, a phone to read."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio

from hub._runtime import ProviderContext
from hub.capabilities.sms import SmsMessage, SmsReceipt
from hub.providers._events import sms_delivered
from hub.providers.local._idempotency import KeyLedger
from hub.settings import ProviderSettings


class LocalSmsSettings(ProviderSettings):
    path: Path | None = None
    announce: bool = True


class LocalSmsProvider:
    def __init__(self, settings: LocalSmsSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.path = settings.path or context.data_dir / "sms.jsonl"
        self._announce = settings.announce
        self._context = context
        self._keys = KeyLedger[SmsReceipt](
            self.path.parent / f".{self.path.stem}.keys.json", SmsReceipt
        )
        # One send at a time: a repeated key is seen before the line is written twice.
        self._lock = anyio.Lock()

    async def send(self, message: SmsMessage, *, idempotency_key: str) -> SmsReceipt:
        async with self._lock:
            earlier = await self._keys.get(idempotency_key)
            if earlier is not None:
                return earlier
            receipt = await self._append(message, idempotency_key)
            await self._keys.put(idempotency_key, receipt)
        if self._announce:
            print(
                f"hub: sms to {message.to} ({receipt.segments} segment(s)) -> {self.path}",
                file=sys.stderr,
            )
        await sms_delivered(self._context, message, receipt.provider_id or "", receipt.segments)
        return receipt

    async def _append(self, message: SmsMessage, idempotency_key: str) -> SmsReceipt:
        message_id = uuid.uuid4().hex
        line = {
            "id": message_id,
            "created_at": datetime.now(UTC).isoformat(),
            "segments": message.segments,
            **message.model_dump(mode="json", exclude_defaults=True),
        }
        await anyio.Path(self.path.parent).mkdir(parents=True, exist_ok=True)
        async with await anyio.open_file(self.path, "a", encoding="utf-8") as file:
            await file.write(json.dumps(line, ensure_ascii=False) + "\n")
        return SmsReceipt(
            provider=self.name,
            provider_id=message_id,
            idempotency_key=idempotency_key,
            to=message.to,
            status="delivered",
            segments=message.segments,
            raw={"path": str(self.path)},
        )

    @property
    def outbox(self) -> list[SmsMessage]:
        """The messages in the file, oldest first."""
        if not self.path.is_file():
            return []
        fields = SmsMessage.model_fields
        messages = []
        for text in self.path.read_text(encoding="utf-8").splitlines():
            if text.strip():
                line = json.loads(text)
                messages.append(
                    SmsMessage.model_validate({k: line[k] for k in fields if k in line})
                )
        return messages

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()
