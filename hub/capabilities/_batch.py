"""``send_many`` for any messaging capability: the vendor's batch API, or concurrent sends.

One result per message, in order, never one bool for all and never raising for one message:
an invalid message gets its InvalidRequest as its result and the others still go.

Keys are per message, whichever path is taken. Where the hub remembers keys (a provider
without vendor idempotency), the batch path claims each message's key through the same
:class:`~hub.resilience.idempotency.IdempotencyGuard` record a single ``send`` uses (scope
``"<capability>.send"``): a key answered before is replayed without sending, and each message
the batch delivered is remembered under its own key, so repeating the ``send_many`` (or a
``send`` with one of its keys) sends nothing twice. Keys the hub generated (the caller passed
none) cannot come back, so they are neither claimed nor remembered, as for a single ``send``.

Vendor plugins build their ``send_many`` on :func:`prepare_each` and :func:`send_chunks`.
"""

from __future__ import annotations

import contextlib
import gc
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import anyio
from pydantic import BaseModel, ConfigDict

from hub.capabilities._service import new_idempotency_key
from hub.errors import ConfigurationError, HubError, InvalidRequest

if TYPE_CHECKING:
    from hub.capabilities._service import Service
    from hub.resilience.idempotency import IdempotencyGuard

__all__ = ["SendResult", "gc_paused", "prepare_each", "send_chunks", "send_many"]

M = TypeVar("M")
P = TypeVar("P")
R = TypeVar("R")
Chunk = Sequence[tuple[int, P]]


class SendResult(BaseModel, Generic[R]):
    """One message of a ``send_many``: a receipt, or the error that message met."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    index: int
    receipt: R | None = None
    error: HubError | None = None

    @property
    def ok(self) -> bool:
        return self.receipt is not None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector for a synchronous burst of allocations.

    A batch builds tens of thousands of objects (models, dicts) that all outlive the loop;
    each collection the burst triggers walks them, and the whole heap, to free nothing:
    measured on 10,000 messages, two thirds of ``send_many``'s time went to collections. The
    collector runs as usual after the block (it is left disabled if the app disabled it).
    Use it only around code that does not await: other tasks must not run with it paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- the vendor side: a plugin's send_many ------------------------------------------------


def prepare_each(
    messages: Sequence[M], prepare: Callable[[M], P]
) -> tuple[list[tuple[int, P]], dict[int, HubError]]:
    """``(ready, refused)``: each message prepared for the vendor, by its index, and the
    InvalidRequest of each one the vendor cannot take (its result; the others still go)."""
    ready: list[tuple[int, P]] = []
    refused: dict[int, HubError] = {}
    with gc_paused():
        for index, message in enumerate(messages):
            try:
                ready.append((index, prepare(message)))
            except InvalidRequest as exc:
                refused[index] = exc
    return ready, refused


async def send_chunks(
    chunks: Iterable[Chunk[P]],
    post: Callable[[Chunk[P]], Awaitable[Sequence[R | HubError]]],
    *,
    refused: Mapping[int, HubError] | None = None,
    concurrency: int = 1,
) -> list[R | HubError]:
    """Send a batch as vendor requests of a few messages each: one outcome per message.

    ``post(chunk)`` makes one request and answers one receipt or error per ``(index, item)``
    of the chunk, in order. Until a request has succeeded, an error that allows a retry or a
    failover is raised: nothing was sent, so the pipeline may repeat the whole batch (here or
    elsewhere). Once something went out, a failed request fails only its own messages. After
    the first success the remaining chunks go ``concurrency`` at a time. ``refused`` (from
    :func:`prepare_each`) are results already; the list is ordered by message index.
    """
    outcomes: dict[int, R | HubError] = dict(refused or {})
    remaining = iter(chunks)
    for chunk in remaining:
        if await _post_chunk(chunk, post, outcomes, nothing_sent=True):
            break
    if concurrency <= 1:
        for chunk in remaining:
            await _post_chunk(chunk, post, outcomes, nothing_sent=False)
    else:
        limiter = anyio.CapacityLimiter(concurrency)

        async def limited(chunk: Chunk[P]) -> None:
            async with limiter:
                await _post_chunk(chunk, post, outcomes, nothing_sent=False)

        async with anyio.create_task_group() as tasks:
            for chunk in remaining:
                tasks.start_soon(limited, chunk)
    return [outcomes[index] for index in sorted(outcomes)]


async def _post_chunk(
    chunk: Chunk[P],
    post: Callable[[Chunk[P]], Awaitable[Sequence[R | HubError]]],
    outcomes: dict[int, R | HubError],
    *,
    nothing_sent: bool,
) -> bool:
    """Whether the request succeeded; its outcomes are recorded either way."""
    try:
        answers = await post(chunk)
    except HubError as exc:
        if nothing_sent and (exc.retryable or exc.failover_safe):
            raise
        for index, _ in chunk:
            outcomes[index] = exc
        return False
    for (index, _), answer in zip(chunk, answers, strict=True):
        outcomes[index] = answer
    return True


# -- the hub side: Service.send_many ------------------------------------------------------


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
    if idempotency_keys is not None:
        _distinct(keys)
    results: list[SendResult[R] | None] = [None] * len(messages)
    ready: list[tuple[int, M]] = []
    with gc_paused():
        for index, message in enumerate(messages):
            try:
                ready.append((index, prepare(message)))
            except InvalidRequest as exc:
                results[index] = SendResult[R](index=index, error=exc)
        needed: set[str] = set().union(*(features(m) for _, m in ready))
    primary = service._providers[0].spec.features
    if ready and {"batch", *needed} <= primary:
        # Only a caller's own keys can come back: claiming generated ones is pure cost.
        remember = idempotency_keys is not None
        batch = _Batch[M, R](service, keys, {"batch", *needed}, results, remember=remember)
        await batch.run(ready)
    else:
        await _each(ready, keys, send, concurrency, results)
    return [r for r in results if r is not None]


def _distinct(keys: list[str]) -> None:
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            raise InvalidRequest(
                f"idempotency key {key!r} is given for messages {first[key]} and {index}; "
                "each message needs its own key (a key stands for one message sent once)",
                field="idempotency_keys",
            )
        first[key] = index


class _Batch(Generic[M, R]):
    """One ``send_many`` through the vendor's batch API, its keys claimed where the hub
    remembers them."""

    def __init__(
        self,
        service: Service[Any],
        keys: list[str],
        features: set[str],
        results: list[SendResult[R] | None],
        *,
        remember: bool,
    ) -> None:
        self.service = service
        self.keys = keys
        self.features = features
        self.results = results
        self.remember = remember

    async def run(self, ready: list[tuple[int, M]]) -> None:
        guard = self._guard() if self.remember else None
        if guard is None:  # keys nobody can repeat, or every provider honours keys itself
            self._record(await self._send(ready))
            return
        await self._claimed(guard, ready)

    def _guard(self) -> IdempotencyGuard | None:
        """The guard of the first provider the batch may reach that lacks vendor idempotency.

        Its records are the capability's (shared by every provider's guard), so one serves.
        """
        executor = self.service._runtime.executor
        for bound in self.service._providers:
            if self.features <= bound.spec.features:
                guard = executor.pipeline(self.service.capability, bound).guard
                if guard is not None:
                    return guard
        return None

    async def _send(self, ready: Sequence[tuple[int, M]]) -> dict[int, R | HubError]:
        """The batch call through the pipeline: one outcome per message, never raising."""
        messages = [m for _, m in ready]
        keys = [self.keys[i] for i, _ in ready]

        async def call(provider: Any) -> list[R | HubError]:
            outcomes: list[R | HubError] = await provider.send_many(messages, idempotency_keys=keys)
            return outcomes

        try:
            # The first key marks the call as keyed; each message carries its own to the vendor.
            outcomes = await self.service._call(
                "send_many", call, idempotency_key=keys[0], features=self.features
            )
        except HubError as exc:
            outcomes = [exc] * len(ready)
        return {index: outcome for (index, _), outcome in zip(ready, outcomes, strict=True)}

    def _record(self, outcomes: Mapping[int, R | HubError]) -> None:
        result: type[SendResult[Any]] = SendResult[Any]  # parametrized once, not per message
        with gc_paused():
            for index, outcome in outcomes.items():
                if isinstance(outcome, HubError):
                    self.results[index] = result(index=index, error=outcome)
                else:
                    self.results[index] = result(index=index, receipt=outcome)

    async def _claimed(self, guard: IdempotencyGuard, ready: list[tuple[int, M]]) -> None:
        """Each message through ``guard.run`` under its own key, as ``send`` would go.

        A key done before is replayed; the others are claimed (a concurrent caller with the
        same key waits, as for ``send``) until the one batch call for all of them has
        answered: a receipt is stored under its key, an error releases the key.
        """
        scope = f"{self.service.capability}.send"
        receipt_type = _receipt_type(self.service)
        claimed: dict[int, M] = {}
        outcomes: dict[int, R | HubError] = {}
        settled = 0
        all_settled, answered = anyio.Event(), anyio.Event()

        def settle() -> None:
            nonlocal settled
            settled += 1
            if settled == len(ready):
                all_settled.set()

        async def in_batch(index: int, message: M) -> Any:
            claimed[index] = message
            settle()
            await answered.wait()
            outcome = outcomes.get(index)
            if outcome is None:
                raise _Unanswered  # the batch call broke: release the key
            if isinstance(outcome, HubError):
                raise outcome  # releases the key: a later call may send it
            return outcome

        async def one(index: int, message: M) -> None:
            key = self.keys[index]
            try:
                result, _ = await guard.run(
                    scope, key, partial(in_batch, index, message), receipt_type
                )
            except _Unanswered:
                return
            except HubError as exc:
                self.results[index] = SendResult[R](index=index, error=exc)
                if index not in claimed:  # still running elsewhere: OutcomeUnknown
                    settle()
                return
            self.results[index] = SendResult[R](index=index, receipt=cast(R, result))
            if index not in claimed:  # replayed
                settle()

        broken: Exception | None = None
        async with anyio.create_task_group() as tasks:
            for index, message in ready:
                tasks.start_soon(one, index, message)
            await all_settled.wait()
            try:
                if claimed:
                    outcomes.update(await self._send([(i, claimed[i]) for i in sorted(claimed)]))
            except Exception as exc:  # a provider bug: raised as it is, as on the other paths
                broken = exc
            answered.set()
        if broken is not None:
            raise broken


class _Unanswered(Exception):
    """Raised inside a key's claim when the batch call failed without outcomes."""


def _receipt_type(service: Service[Any]) -> type[BaseModel]:
    """The model of the service's ``send`` receipts, the type its remembered results have."""
    send = getattr(type(service), "send", None)
    declared = typing.get_type_hints(send).get("return") if send is not None else None
    if isinstance(declared, type) and issubclass(declared, BaseModel):
        return declared
    raise ConfigurationError(
        f"{type(service).__name__}.send() must be annotated with the receipt model it returns"
    )


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

    async with anyio.create_task_group() as tasks:
        for index, message in ready:
            tasks.start_soon(one, index, message)
