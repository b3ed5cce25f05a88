"""Shared state: breaker state, rate-limit buckets, idempotency records, webhook dedupe keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from hub.errors import ConfigurationError

if TYPE_CHECKING:
    from hub.settings import StateSettings

__all__ = ["StateStore", "open_state_store"]


class StateStore(Protocol):
    """Key/value operations with TTLs; every read-modify-write is atomic."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...
    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def aclose(self) -> None: ...


def open_state_store(settings: StateSettings) -> StateStore:
    """The backend named by ``settings.url``: ``memory://`` or ``redis://…``."""
    scheme = settings.url.split(":", 1)[0]
    if scheme == "memory":
        from hub.state.memory import MemoryStateStore

        return MemoryStateStore()
    raise ConfigurationError(
        f"unknown state store {settings.url!r}; use memory:// or redis://host:6379/0"
    )
