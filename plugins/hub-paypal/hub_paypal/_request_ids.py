"""One idempotency key, one request: what Stripe enforces and PayPal does not.

PayPal answers a repeated ``PayPal-Request-Id`` with the latest state of the *first* request,
whatever the new body says, so a key reused for a different amount would silently return the
old payment. The hub promises an error instead: each key's request fingerprint is kept in the
StateStore (shared by every process with Redis) for ``request_id_ttl`` seconds and compared.

As at Stripe, a request refused as invalid (nothing happened) frees its key, so the caller may
fix the request and send it again under the same key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from hub.errors import InvalidRequest

if TYPE_CHECKING:
    from hub.state import StateStore

__all__ = ["RequestIds"]


class RequestIds:
    """Remembers which request each idempotency key was first used for."""

    def __init__(self, state: StateStore, *, prefix: str, ttl: float, provider: str) -> None:
        self._state = state
        self._prefix = prefix
        self._ttl = ttl
        self._provider = provider

    @contextlib.asynccontextmanager
    async def hold(
        self, key: str, operation: str, params: Mapping[str, Any]
    ) -> AsyncIterator[None]:
        """Run the block for a new key or a retry of the same request; InvalidRequest for a
        key first used for another request. An InvalidRequest from the block frees the key."""
        canonical = json.dumps([operation, params], sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest().encode()
        record = f"{self._prefix}{key}"
        if not await self._state.add(record, digest, ttl=self._ttl):
            found = await self._state.get(record)
            if found is not None and found != digest:
                raise InvalidRequest(
                    f"idempotency key {key!r} was already used for a different {self._provider} "
                    "request; use a new key for a new request (PayPal would return the first "
                    "request's result)",
                    field="idempotency_key",
                    provider=self._provider,
                )
        try:
            yield
        except InvalidRequest:
            with anyio.CancelScope(shield=True):
                await self._state.delete_if(record, digest)
            raise
