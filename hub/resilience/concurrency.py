"""Concurrency limit per provider: at most ``policy.concurrency`` calls in flight.

An :class:`anyio.CapacityLimiter` shared by every call to one provider in this process (a
process-wide cap; the rate limiter is the one shared across processes). Callers wait for a slot
outside the total deadline, as in Polly's standard pipeline, so the deadline measures the
vendor, not the queue.
"""

from __future__ import annotations

import anyio

__all__ = ["concurrency_limit"]


def concurrency_limit(limit: int | None) -> anyio.CapacityLimiter | None:
    """A limiter of ``limit`` slots, or None when the policy sets no limit (no cost at all)."""
    return anyio.CapacityLimiter(limit) if limit is not None else None
