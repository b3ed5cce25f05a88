"""Composes the strategies into the path of one call (see docs/resilience.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from hub.errors import HubError

if TYPE_CHECKING:
    from hub._runtime import Runtime
    from hub.capabilities._service import BoundProvider, Operation

__all__ = ["Executor"]

R = TypeVar("R")


class Executor:
    """Runs one operation over a provider chain: failover outside, per-provider stages inside."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def run(
        self,
        op: Operation,
        chain: Sequence[BoundProvider[Any]],
        invoke: Callable[[Any], Awaitable[R]],
    ) -> R:
        last = len(chain) - 1
        for index, bound in enumerate(chain):
            try:
                return await invoke(bound.provider)
            except HubError as exc:
                if index == last or not exc.failover_safe:
                    raise
        raise AssertionError("unreachable: empty provider chain")
