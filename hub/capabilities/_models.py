"""Pieces every capability's models share: the receipt base and input validation."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import InvalidRequest

__all__ = ["Receipt", "new_id", "parse_input"]

M = TypeVar("M", bound=BaseModel)


def new_id() -> str:
    """32 random hex digits: a receipt's id, a generated idempotency key (4x cheaper than
    ``uuid.uuid4().hex``, which a bulk send pays twice per message)."""
    return os.urandom(16).hex()


class Receipt(BaseModel):
    """What every call returns: who handled it, the vendor's id and the vendor's raw answer."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id, description="the hub's own id")
    provider: str
    provider_id: str | None = Field(None, description="the vendor's id for what was created")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    raw: Any = Field(None, repr=False, description="the vendor's response, as received")


def parse_input(model: type[M], data: Any, *, what: str) -> M:
    """Validate caller input, raising InvalidRequest that says which field and how to fix it."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        first_field: str | None = None
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"])
            first_field = first_field or location or what
            said = error["msg"].removeprefix("Value error, ")  # our validators' own words
            problems.append(f"{location}: {said}" if location else said)
        raise InvalidRequest(f"invalid {what}: " + "; ".join(problems), field=first_field) from None
