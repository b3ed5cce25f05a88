"""PayPal's OAuth2 access token, fetched once and shared until shortly before it expires.

Concurrent callers that find no valid token wait on one lock; the first fetches, the rest find
its token when they get the lock (check, lock, check again), so a burst of calls costs one token
request. A token the API refused (401) is dropped with :meth:`TokenCache.invalidate`, only if it
is still the cached one, so late 401s of an old token do not throw away a fresh one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from hub.resilience.clock import Clock

__all__ = ["TokenCache"]

#: Refresh this long before PayPal's ``expires_in`` ends (capped at a tenth of the lifetime).
EARLY_REFRESH = 300.0

Fetch = Callable[[], Awaitable[tuple[str, float]]]


class TokenCache:
    """One bearer token and its expiry; ``get`` refreshes it through ``fetch`` when needed."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = anyio.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:
        return f"<TokenCache {'valid' if self._valid() else 'empty'}>"

    def _valid(self) -> str | None:
        if self._token is not None and self._clock.monotonic() < self._expires:
            return self._token
        return None

    async def get(self, fetch: Fetch) -> tuple[str, bool]:
        """``(token, fresh)``: a valid token, and whether this call fetched it."""
        token = self._valid()
        if token is not None:
            return token, False
        async with self._lock:
            token = self._valid()
            if token is not None:
                return token, False  # another caller refreshed it while we waited
            token, expires_in = await fetch()
            lifetime = max(0.0, expires_in - min(EARLY_REFRESH, expires_in / 10))
            self._token, self._expires = token, self._clock.monotonic() + lifetime
            return token, True

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the API refused it) unless a newer one replaced it already."""
        if self._token == token:
            self._token = None
