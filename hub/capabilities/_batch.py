"""``send_many`` for any messaging capability: the vendor's batch API, or concurrent sends.

One result per message, in order, never one bool for all and never raising for one message:
an invalid message gets its InvalidRequest as its result and the others still go.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict

from hub.capabilities._service import new_idempotency_key
from hub.errors import HubError, InvalidRequest

if TYPE_CHECKING:
    from hub.capabilities._service import Service

__all__ = ["SendResult", "send_many"]

M = TypeVar("M")
R = TypeVar("R")


class SendResult(BaseModel, Generic[R]):
    """One message of a ``send_many``: a receipt, or the error that message met."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    index: int
    receipt: R | None = None
    error: HubError | None = None

    @property
    def ok(self) -> bool:
        return self.receipt is not None


async def send_many(
    service: Service[Any],
    messages: Sequence[Any],
    *,
    prepare: Callable[[Any], M],
    features: Callable[[M], set[str]],
    send: Callable[[M, str], Awaitable[R]],
    concurrency: int,
    idempotency_keys: Sequence[str] | None,
) -> list[SendResult[R]]:
    """Validate every message, then use the primary provider's batch API or send each."""
    if concurrency < 1:
        raise InvalidRequest("concurrency must be at least 1", field="concurrency")
    if idempotency_keys is not None and len(idempotency_keys) != len(messages):
        raise InvalidRequest(
            f"got {len(idempotency_keys)} idempotency keys for {len(messages)} messages; "
            "pass one key per message",
            field="idempotency_keys",
        )
    keys = list(idempotency_keys or [new_idempotency_key() for _ in messages])
    results: list[SendResult[R] | None] = [None] * len(messages)
    ready: list[tuple[int, M]] = []
    for index, message in enumerate(messages):
        try:
            ready.append((index, prepare(message)))
        except InvalidRequest as exc:
            results[index] = SendResult[R](index=index, error=exc)
    needed: set[str] = set().union(*(features(m) for _, m in ready))
    primary = service._providers[0].spec.features
    if ready and {"batch", *needed} <= primary:
        await _batch(service, ready, keys, needed, results)
    else:
        await _each(ready, keys, send, concurrency, results)
    return [r for r in results if r is not None]


async def _batch(
    service: Service[Any],
    ready: list[tuple[int, M]],
    keys: list[str],
    needed: set[str],
    results: list[SendResult[R] | None],
) -> None:
    messages = [m for _, m in ready]
    batch_keys = [keys[i] for i, _ in ready]

    async def call(provider: Any) -> list[R | HubError]:
        outcomes: list[R | HubError] = await provider.send_many(
            messages, idempotency_keys=batch_keys
        )
        return outcomes

    try:
        outcomes = await service._call(
            "send_many", call, idempotency_key=batch_keys[0], features={"batch", *needed}
        )
    except HubError as exc:
        outcomes = [exc] * len(ready)
    for (index, _), outcome in zip(ready, outcomes, strict=True):
        if isinstance(outcome, HubError):
            results[index] = SendResult[R](index=index, error=outcome)
        else:
            results[index] = SendResult[R](index=index, receipt=outcome)


async def _each(
    ready: list[tuple[int, M]],
    keys: list[str],
    send: Callable[[M, str], Awaitable[R]],
    concurrency: int,
    results: list[SendResult[R] | None],
) -> None:
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(index: int, message: M) -> None:
        async with limiter:
            try:
                receipt = await send(message, keys[index])
                results[index] = SendResult[R](index=index, receipt=receipt)
            except HubError as exc:
                results[index] = SendResult[R](index=index, error=exc)

    async with anyio.create_task_group() as group:
        for index, message in ready:
            group.start_soon(one, index, message)
