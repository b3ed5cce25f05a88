"""Resilience policies: pydantic models read from settings, one per strategy.

A capability section carries defaults (``[email.resilience]``); a provider section may override
any part of them (``[email.sendgrid.resilience.retry] attempts = 5``, or
``HUB_EMAIL__SENDGRID__RESILIENCE__RETRY__ATTEMPTS=5``). :func:`merge_policy` applies such an
override over the capability's policy, field by field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CircuitBreakerPolicy",
    "FailoverPolicy",
    "IdempotencyPolicy",
    "RateLimitPolicy",
    "ResiliencePolicy",
    "RetryPolicy",
    "TimeoutPolicy",
    "merge_policy",
]


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeoutPolicy(_Policy):
    """Per-attempt timeout and an overall deadline for the call, retries included (seconds)."""

    attempt: float | None = Field(10.0, gt=0)
    total: float | None = Field(30.0, gt=0)


class RetryPolicy(_Policy):
    """Jittered exponential backoff over retryable errors only."""

    attempts: int = Field(3, ge=1, le=20)
    wait_initial: float = Field(0.1, ge=0)
    wait_max: float = Field(5.0, ge=0)
    wait_jitter: float = Field(0.5, ge=0)
    wait_exp_base: float = Field(2.0, ge=1)
    #: A vendor's Retry-After above this is not waited for: the call fails with RateLimited.
    retry_after_max: float = Field(30.0, ge=0)


class CircuitBreakerPolicy(_Policy):
    """Opens on consecutive failures or on a failure rate over a sliding window."""

    enabled: bool = True
    consecutive_failures: int = Field(5, ge=1)
    failure_rate: float = Field(0.5, gt=0, le=1)
    window: float = Field(60.0, gt=0)
    minimum_calls: int = Field(20, ge=1)
    reset_timeout: float = Field(30.0, gt=0)
    half_open_calls: int = Field(1, ge=1)


class RateLimitPolicy(_Policy):
    """Token bucket per provider; ``rate=None`` switches it off."""

    rate: float | None = Field(None, gt=0, description="calls per second")
    burst: int | None = Field(None, ge=1, description="bucket size; defaults to max(1, rate)")
    max_wait: float = Field(1.0, ge=0, description="longest wait for a token before RateLimited")


class IdempotencyPolicy(_Policy):
    """How long the hub remembers completed keys for vendors without idempotency of their own."""

    enabled: bool = True
    ttl: float = Field(86_400.0, gt=0)
    #: How long a concurrent caller with the same key waits for the first one to finish.
    wait: float = Field(60.0, ge=0)


class FailoverPolicy(_Policy):
    """Failover beyond the always-safe errors, for operations that move no money.

    An error that proves the request had no effect (connect refused, circuit open, 429) always
    moves down the chain. These switches also move on after a failure that *may* have had an
    effect, trading a possible duplicate (a second email) for delivery; a payment never does.
    """

    #: Fail over on an Unavailable (5xx, dropped connection) that may have been processed.
    on_unavailable: bool = False
    #: Fail over on a Timeout that may have been processed.
    on_timeout: bool = False


class ResiliencePolicy(_Policy):
    """The whole pipeline for one provider, in the order it is applied."""

    concurrency: int | None = Field(None, ge=1, description="calls in flight per provider")
    rate_limit: RateLimitPolicy = RateLimitPolicy()
    timeout: TimeoutPolicy = TimeoutPolicy()
    retry: RetryPolicy = RetryPolicy()
    circuit_breaker: CircuitBreakerPolicy = CircuitBreakerPolicy()
    idempotency: IdempotencyPolicy = IdempotencyPolicy()
    #: Read from the provider that failed, when the call decides whether to move on.
    failover: FailoverPolicy = FailoverPolicy()


def merge_policy(base: ResiliencePolicy, override: dict[str, Any] | None) -> ResiliencePolicy:
    """Apply a provider's partial override on top of the capability's policy."""
    if not override:
        return base
    merged = _deep_merge(base.model_dump(), override)
    return ResiliencePolicy.model_validate(merged)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
