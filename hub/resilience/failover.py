"""Failover along a capability's provider chain, by the safety rule of DESIGN.md.

Move to the next provider only on an error that proves the request had no effect
(``failover_safe``: connect errors, an open circuit, 429, an unsupported feature). When money
moves and the error leaves the outcome open (a timeout, a 5xx, a dropped answer, an unexpected
exception), the call stops with :class:`hub.errors.OutcomeUnknown` carrying the idempotency key:
a second vendor could charge again, while the same vendor, asked again with that key, cannot.

For operations that move no money, the failed provider's :class:`FailoverPolicy` may widen the
rule: ``on_unavailable`` / ``on_timeout`` move on after an Unavailable / Timeout that may have
had an effect (a possible duplicate email or SMS is the price of delivery).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from hub.errors import (
    AuthenticationError,
    HubError,
    NotFound,
    OutcomeUnknown,
    PaymentDeclined,
    ProviderError,
    Timeout,
    Unavailable,
)

if TYPE_CHECKING:
    from hub.capabilities._service import Operation
    from hub.resilience.policy import FailoverPolicy

__all__ = ["Decision", "decide", "may_have_taken_effect", "outcome_unknown"]


class Decision(enum.Enum):
    """What the failover loop does with a provider's final error."""

    NEXT = "next"  # ask the next provider of the chain
    RAISE = "raise"  # the caller gets the error as it is
    UNKNOWN = "unknown"  # the caller gets OutcomeUnknown with the key

    def __repr__(self) -> str:
        return f"Decision.{self.name}"


_DEFINITE = (NotFound, PaymentDeclined, AuthenticationError)


def may_have_taken_effect(exc: BaseException) -> bool:
    """Could the request have been carried out although we got no success?"""
    if isinstance(exc, NotImplementedError):
        return False  # an unimplemented provider (a fresh scaffold) sent nothing
    if not isinstance(exc, HubError):
        return True  # something broke in the provider, possibly after the request left
    if exc.failover_safe:
        return False
    return isinstance(exc, ProviderError) and not isinstance(exc, _DEFINITE)


def decide(op: Operation, exc: BaseException, policy: FailoverPolicy) -> Decision:
    """The decision for ``exc``, the last error of the provider that ``policy`` belongs to."""
    if op.money_moves:
        if may_have_taken_effect(exc):
            return Decision.UNKNOWN
    elif (policy.on_unavailable and isinstance(exc, Unavailable)) or (
        policy.on_timeout and isinstance(exc, Timeout)
    ):
        return Decision.NEXT  # configured: a possible duplicate rather than no delivery
    if isinstance(exc, HubError) and exc.failover_safe:
        return Decision.NEXT
    return Decision.RAISE


def outcome_unknown(op: Operation, provider: str, exc: BaseException) -> OutcomeUnknown:
    """The error for a money-moving call whose outcome ``exc`` left open."""
    key = op.idempotency_key or ""
    retry = (
        f"retry with the same idempotency_key={key!r} to learn the outcome"
        if key
        else "check the provider's dashboard before retrying (the call carried no key)"
    )
    # Hub errors are written to be shown; anything else might echo a request, so only its type.
    cause = f"{type(exc).__name__}: {exc}" if isinstance(exc, HubError) else type(exc).__name__
    return OutcomeUnknown(
        f"{op.capability}.{op.name} on {provider!r} may have taken effect ({cause}); "
        f"it was not sent to another provider; {retry}",
        provider=provider,
        idempotency_key=key,
    )
