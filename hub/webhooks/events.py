"""HubEvent: a vendor's webhook (or a built-in provider's event) in one normalized shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HubEvent"]


class HubEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str = Field(description="normalized type, e.g. email.delivered")
    provider: str
    provider_event_id: str
    capability: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject_id: str | None = Field(None, description="message / payment id the event is about")
    data: dict[str, Any] = Field(default_factory=dict, description="normalized fields")
    raw: Any = None
