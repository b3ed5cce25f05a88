"""asyncpg's errors onto the hub's error tree, at one boundary (:func:`mapped`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

import asyncpg  # type: ignore[import-untyped]

from hub._redact import redact_text
from hub.errors import (
    AuthenticationError,
    ConfigurationError,
    HubError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
)

__all__ = ["mapped"]

_E = asyncpg.exceptions
#: Worth asking again: the server is starting or shutting down, or a transaction collided.
_TRANSIENT = (
    _E.CannotConnectNowError,
    _E.AdminShutdownError,
    _E.PostgresConnectionError,
    _E.TransactionRollbackError,
    _E.LockNotAvailableError,
)


def to_hub_error(exc: BaseException, *, provider: str, secrets: Iterable[str]) -> HubError:
    """The hub error for an asyncpg/OS error; the message never carries the DSN's password."""
    text = redact_text(f"{type(exc).__name__}: {exc}", list(secrets))
    code = getattr(exc, "sqlstate", None)
    where = f"{provider}: PostgreSQL said {text}"
    if isinstance(exc, _E.InvalidAuthorizationSpecificationError | _E.InsufficientPrivilegeError):
        return AuthenticationError(
            f"{where}; check the user and password in the dsn (DATABASE_URL) and its grants",
            provider=provider,
            vendor_code=code,
        )
    if isinstance(exc, _E.InvalidCatalogNameError):
        return ConfigurationError(f"{where}; create the database or fix the dsn (DATABASE_URL)")
    if isinstance(exc, _E.QueryCanceledError):
        return Timeout(
            f"{where}; raise command_timeout or narrow the query",
            provider=provider,
            vendor_code=code,
            retryable=True,
        )
    if isinstance(exc, _E.TooManyConnectionsError):
        return RateLimited(
            f"{where}; lower pool_max_size or raise the server's max_connections",
            provider=provider,
            vendor_code=code,
        )
    if isinstance(exc, _E.DataError):
        return InvalidRequest(where, provider=provider, vendor_code=code)
    if isinstance(exc, _TRANSIENT):
        return Unavailable(where, provider=provider, vendor_code=code, failover_safe=False)
    if isinstance(exc, OSError | asyncpg.InterfaceError | TimeoutError):
        return Unavailable(
            f"{provider}: cannot reach PostgreSQL ({text}); is the server running and the dsn "
            "(DATABASE_URL) right?",
            provider=provider,
            failover_safe=isinstance(exc, ConnectionRefusedError),
        )
    return ProviderError(where, provider=provider, vendor_code=code, retryable=False)


@contextlib.asynccontextmanager
async def mapped(provider: str, secrets: Iterable[str]) -> AsyncIterator[None]:
    """Inside the block, database and network errors surface as hub errors."""
    try:
        yield
    except HubError:
        raise
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        raise to_hub_error(exc, provider=provider, secrets=secrets) from exc
