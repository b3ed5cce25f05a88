"""The events the built-in providers emit after a send, as a vendor's webhook would report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.webhooks.events import HubEvent

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub.capabilities.email import EmailMessage
    from hub.capabilities.sms import SmsMessage


async def email_delivered(context: ProviderContext, message: EmailMessage, message_id: str) -> None:
    """One ``email.delivered`` per recipient, keyed so a redelivery is deduplicated."""
    for address in message.recipients:
        await context.emit(
            HubEvent(
                type="email.delivered",
                provider=context.name,
                capability="email",
                provider_event_id=f"{message_id}:{address.email}",
                subject_id=message_id,
                data={"recipient": address.email},
            )
        )


async def sms_delivered(
    context: ProviderContext, message: SmsMessage, message_id: str, segments: int
) -> None:
    """One ``sms.delivered`` for the message."""
    await context.emit(
        HubEvent(
            type="sms.delivered",
            provider=context.name,
            capability="sms",
            provider_event_id=f"{message_id}:delivered",
            subject_id=message_id,
            data={"to": message.to, "segments": segments},
        )
    )
