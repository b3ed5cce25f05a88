"""HubEvent: a vendor's webhook (or a built-in provider's event) in one normalized shape.

An app handles ``email.bounced`` the same way whether SendGrid, SES or the fake provider said
so. The shared vocabulary is :data:`EVENT_TYPES`; a type is ``<prefix>.<name>`` where the prefix
belongs to the event's capability (``payment.`` for ``payments``, otherwise the capability's own
name). A vendor event with no place in the vocabulary keeps its meaning under an ``x-`` name
(``email.x-group_resubscribed``); a capability added by a plugin owns its whole namespace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EVENT_PREFIXES",
    "EVENT_TYPES",
    "HubEvent",
    "check_event_prefix",
    "check_event_type",
    "event_prefix",
]

#: Every normalized event type of the built-in capabilities, with what it means.
EVENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "email.queued": "the vendor accepted the message and will try to send it",
        "email.delivered": "the recipient's server accepted the message",
        "email.deferred": "the recipient's server asked to try later; the vendor will retry",
        "email.bounced": "the recipient's server refused the message (bounce_type hard|soft)",
        "email.complained": "the recipient marked the message as spam",
        "email.opened": "the recipient opened the message (tracking pixel)",
        "email.clicked": "the recipient clicked a tracked link (url)",
        "email.unsubscribed": "the recipient unsubscribed through the vendor's link",
        "email.rejected": "the vendor refused to send (suppressed address, policy)",
        "email.failed": "the vendor could not send (rendering or internal failure)",
        "sms.queued": "the vendor accepted the message",
        "sms.sent": "the vendor handed the message to the carrier",
        "sms.delivered": "the carrier confirmed delivery to the handset",
        "sms.undelivered": "the carrier could not deliver the message",
        "sms.failed": "the vendor could not send the message",
        "sms.received": "an inbound message arrived for one of your numbers",
        "payment.authorized": "funds are reserved; capture them to collect",
        "payment.captured": "reserved funds were captured",
        "payment.succeeded": "the payment completed",
        "payment.failed": "the payment failed (reason holds the normalized decline code)",
        "payment.canceled": "the payment or authorization was canceled",
        "payment.refunded": "money went back to the customer (amount: this refund)",
        "payment.disputed": "the customer opened a dispute / chargeback",
        "payment.dispute_closed": "a dispute was decided (reason: won|lost)",
        "storage.object_created": "an object was written (subject_id: its key)",
        "storage.object_deleted": "an object was deleted (subject_id: its key)",
        "search.task_succeeded": "an asynchronous indexing task finished",
        "search.task_failed": "an asynchronous indexing task failed",
    }
)

#: Capabilities whose event prefix is not their own name.
EVENT_PREFIXES: Mapping[str, str] = MappingProxyType({"payments": "payment"})

_BUILTIN_PREFIXES = frozenset(t.split(".", 1)[0] for t in EVENT_TYPES)
_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_.-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Fields a provider may also pass inside ``data``; they are promoted to the typed field.
_PROMOTED = ("recipient", "reason", "bounce_type", "amount", "currency", "url")


def event_prefix(capability: str) -> str:
    """The type prefix of a capability's events: ``payments`` -> ``payment``."""
    return EVENT_PREFIXES.get(capability, capability)


def check_event_prefix(prefix: str) -> str:
    """Refuse a capability's name where its events use another prefix (``payments.*``)."""
    if event_prefix(prefix) != prefix:
        raise ValueError(
            f"event type prefix {prefix!r} is wrong: {prefix} events are named "
            f"'{event_prefix(prefix)}.<name>'"
        )
    return prefix


def check_event_type(event_type: str, capability: str | None = None) -> str:
    """Return ``event_type`` if the vocabulary allows it (for ``capability``); else ValueError.

    Allowed: a type in :data:`EVENT_TYPES`, ``<prefix>.x-<name>`` for vendor-specific events, or
    any ``<prefix>.<name>`` of a capability that a plugin added (it owns that namespace).
    """
    if not _TYPE.match(event_type):
        raise ValueError(
            f"event type {event_type!r} must look like 'email.delivered' "
            "(lower-case '<prefix>.<name>')"
        )
    prefix, name = event_type.split(".", 1)
    check_event_prefix(prefix)
    if capability is not None and prefix != event_prefix(capability):
        raise ValueError(
            f"event type {event_type!r} does not belong to capability {capability!r}; "
            f"its events start with {event_prefix(capability)!r}."
        )
    if prefix in _BUILTIN_PREFIXES and event_type not in EVENT_TYPES and not name.startswith("x-"):
        known = ", ".join(t for t in EVENT_TYPES if t.startswith(prefix + "."))
        raise ValueError(
            f"unknown event type {event_type!r}; use one of {known}, "
            f"or '{prefix}.x-<name>' for a vendor-specific event"
        )
    return event_type


class HubEvent(BaseModel):
    """One thing a vendor reported, normalized. ``raw`` keeps the vendor's payload for details."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description="normalized type from EVENT_TYPES, e.g. email.delivered")
    provider: str = Field(min_length=1, description="the provider that reported the event")
    provider_event_id: str = Field(
        min_length=1, max_length=1024, description="the vendor's id of this event; deduplicates"
    )
    capability: str = Field(min_length=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject_id: str | None = Field(
        None, description="message / payment / object the event is about"
    )
    recipient: str | None = Field(None, description="email address or phone number concerned")
    reason: str | None = Field(
        None, description="why: bounce reason, decline code, dispute outcome"
    )
    bounce_type: Literal["hard", "soft"] | None = None
    amount: int | None = Field(None, ge=0, description="in minor units (cents); needs currency")
    currency: str | None = Field(None, description="ISO 4217 code, upper case")
    url: str | None = Field(None, description="the link clicked (email.clicked)")
    data: dict[str, Any] = Field(default_factory=dict, description="other normalized fields")
    raw: Any = Field(None, repr=False, description="the vendor's payload for this event")

    @model_validator(mode="before")
    @classmethod
    def _promote_data(cls, values: Any) -> Any:
        # Providers that put e.g. {"recipient": ...} in data still fill the typed field.
        if isinstance(values, dict) and isinstance(values.get("data"), dict):
            data = values["data"]
            missing = {k: data[k] for k in _PROMOTED if values.get(k) is None and k in data}
            if missing:
                values = {**values, **missing}
        return values

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY.match(value.upper()):
            raise ValueError("currency must be a three-letter ISO 4217 code such as 'EUR'")
        return None if value is None else value.upper()

    @model_validator(mode="after")
    def _consistent(self) -> HubEvent:
        check_event_type(self.type, self.capability)
        if self.amount is not None and self.currency is None:
            raise ValueError("an event with an amount needs its currency")
        return self
