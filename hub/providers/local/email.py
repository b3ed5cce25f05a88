"""Local email: each message becomes an ``.eml`` file any mail client opens."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import anyio

from hub._runtime import ProviderContext
from hub.capabilities._mime import to_mime
from hub.capabilities.email import EmailMessage, EmailReceipt, RecipientResult
from hub.providers._events import email_delivered
from hub.providers.local._files import atomic_write
from hub.providers.local._idempotency import KeyLedger
from hub.settings import ProviderSettings


class LocalEmailSettings(ProviderSettings):
    directory: Path | None = None
    announce: bool = True


class LocalEmailProvider:
    def __init__(self, settings: LocalEmailSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.directory = settings.directory or context.data_dir / "outbox"
        self._announce = settings.announce
        self._context = context
        self._keys = KeyLedger[EmailReceipt](self.directory / ".keys.json", EmailReceipt)

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
        earlier = await self._keys.get(idempotency_key)
        if earlier is not None:
            return earlier
        message_id = f"{uuid.uuid4().hex}@hub.local"
        mime = to_mime(message, message_id=f"<{message_id}>")
        path = self.directory / f"{message_id.split('@')[0]}.eml"
        await atomic_write(path, mime.as_bytes())
        if self._announce:
            print(
                f"hub: email to {', '.join(a.email for a in message.recipients)} -> {path}",
                file=sys.stderr,
            )
        receipt = EmailReceipt(
            provider=self.name,
            provider_id=message_id,
            idempotency_key=idempotency_key,
            recipients=[RecipientResult(email=a.email, status="sent") for a in message.recipients],
            raw={"path": str(path)},
        )
        await self._keys.put(idempotency_key, receipt)
        await email_delivered(self._context, message, message_id)
        return receipt

    @property
    def outbox(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"), key=lambda p: p.stat().st_mtime)

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()
