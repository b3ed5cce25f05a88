"""The one exception tree of the hub.

::

    HubError
    ├── ConfigurationError      bad or missing settings, unknown provider, key for the wrong env
    ├── PluginError             a plugin failed to load or declares an incompatible API version
    ├── InvalidRequest          the caller's input, or a vendor 400/422: never retried
    ├── UnsupportedFeature      the provider cannot honour a feature the request needs
    ├── ProviderError           a vendor (or the transport to it) failed
    │   ├── AuthenticationError 401/403: never retried
    │   ├── NotFound            404
    │   ├── RateLimited         429: retried after Retry-After
    │   ├── Unavailable         5xx, connect errors: retried
    │   ├── Timeout             retried only where the operation is idempotent or carries a key
    │   └── PaymentDeclined     the card or account said no: never retried
    ├── OutcomeUnknown          the request may have taken effect; carries the idempotency key
    ├── CircuitOpen             fast failure while a provider's breaker is open
    └── WebhookError            bad signature, stale timestamp, unparseable payload

Every vendor answer is mapped onto this tree once, where it is received (``hub.http`` for HTTP
vendors). The mapping decides two flags that the resilience pipeline reads and nothing else:
``retryable`` (the same provider may be asked again) and ``failover_safe`` (the request provably
had no effect, so another provider may be asked).

Messages say what was wrong and how to fix it. They never contain a secret: providers pass
vendor bodies through :func:`hub._redact.redact_text` before they reach an error.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "CircuitOpen",
    "ConfigurationError",
    "HubError",
    "InvalidRequest",
    "NotFound",
    "OutcomeUnknown",
    "PaymentDeclined",
    "PluginError",
    "ProviderError",
    "RateLimited",
    "Timeout",
    "Unavailable",
    "UnsupportedFeature",
    "WebhookError",
    "primary_error",
]


class HubError(Exception):
    """Base of every error the hub raises; catch this to catch them all."""

    #: The same provider may be asked again.
    retryable: bool = False
    #: The request provably had no effect, so another provider may be asked.
    failover_safe: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(HubError, ValueError):
    """Settings are missing, malformed or refer to something that is not installed."""


class PluginError(HubError, ImportError):
    """A plugin could not be loaded, or declares a plugin API version the hub does not speak."""

    def __init__(self, message: str, *, plugin: str = "", distribution: str = "") -> None:
        super().__init__(message)
        self.plugin = plugin
        self.distribution = distribution


class InvalidRequest(HubError, ValueError):
    """The caller's input is invalid (or the vendor said so with a 400/422). Never retried."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        provider: str | None = None,
        vendor_code: str | None = None,
        raw: Any = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.provider = provider
        self.vendor_code = vendor_code
        self.raw = raw


class UnsupportedFeature(InvalidRequest):
    """The configured provider cannot honour something the request asks for."""

    def __init__(self, message: str, *, feature: str, provider: str) -> None:
        super().__init__(message, field=feature, provider=provider)
        self.feature = feature
        # Another provider in the chain may support it, and nothing was sent.
        self.failover_safe = True


class ProviderError(HubError):
    """A vendor, or the way to it, failed."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        vendor_code: str | None = None,
        retryable: bool | None = None,
        failover_safe: bool | None = None,
        retry_after: float | None = None,
        raw: Any = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.vendor_code = vendor_code
        if retryable is not None:
            self.retryable = retryable
        if failover_safe is not None:
            self.failover_safe = failover_safe
        #: Seconds the vendor asked us to wait before the next attempt, if it said.
        self.retry_after = retry_after
        self.raw = raw

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"status={self.status!r}, vendor_code={self.vendor_code!r})"
        )


class AuthenticationError(ProviderError, PermissionError):
    """The vendor refused our credentials (401/403). Never retried; fix the key."""

    retryable = False
    failover_safe = True


class NotFound(ProviderError, LookupError):
    """The thing asked for does not exist at the vendor (404)."""

    retryable = False
    failover_safe = False


class RateLimited(ProviderError):
    """The vendor (or the hub's own limiter) asked us to slow down (429)."""

    retryable = True
    failover_safe = True


class Unavailable(ProviderError, ConnectionError):
    """The vendor is down or unreachable (5xx, connection refused or reset)."""

    retryable = True
    failover_safe = False


class Timeout(ProviderError, TimeoutError):
    """No answer in time. Retried only where repeating the call is safe."""

    retryable = False
    failover_safe = False


class PaymentDeclined(ProviderError):
    """The card or account said no. Never retried; ``decline_code`` is normalized."""

    retryable = False
    failover_safe = False

    def __init__(self, message: str, *, provider: str, decline_code: str, **kwargs: Any) -> None:
        super().__init__(message, provider=provider, **kwargs)
        self.decline_code = decline_code


class OutcomeUnknown(HubError):
    """The request may have taken effect. Retry with the same ``idempotency_key`` to find out."""

    def __init__(self, message: str, *, provider: str, idempotency_key: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.idempotency_key = idempotency_key


class CircuitOpen(HubError):
    """The provider's circuit breaker is open: failing fast instead of calling it."""

    retryable = False
    failover_safe = True

    def __init__(self, message: str, *, provider: str, retry_in: float) -> None:
        super().__init__(message)
        self.provider = provider
        #: Seconds until the breaker lets a trial call through.
        self.retry_in = retry_in


class WebhookError(HubError, ValueError):
    """An inbound webhook failed verification or could not be parsed."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider


def primary_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error worth raising from a failed task group: the first hub error, if any."""
    leaves: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            leaves.append(error)

    walk(group)
    return next((e for e in leaves if isinstance(e, HubError)), leaves[0])
