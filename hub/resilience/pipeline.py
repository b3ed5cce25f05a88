"""Composes the strategies into the path of one call (see docs/resilience.md).

::

    Executor.run: span "email.send" + metrics
      → failover over the chain (failover.py)
          → per provider, built once (ProviderPipeline):
            idempotency guard (vendors without their own) → concurrency limit → rate limit
            → total deadline → retry (stamina, after a first failure) → circuit breaker
            → attempt timeout → provider

Stages a policy switches off are absent, not no-ops, and nothing on the success path allocates
more than the call's own small record: retries start only after a failure, metric children are
pre-bound, spans exist only when a TracerProvider does, and then are started, made current and
ended by hand (``start_as_current_span`` wraps the same calls in two generator-based context
managers, a few µs per span; bench/overhead.py measures it). A call whose first attempt succeeds
is one span: attempts get spans of their own only once one has failed.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from time import perf_counter, time_ns
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import anyio
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from hub.errors import ConfigurationError, HubError, Timeout, Unavailable
from hub.observability import end_span, error_type
from hub.resilience.circuit_breaker import CircuitBreaker
from hub.resilience.concurrency import concurrency_limit
from hub.resilience.failover import Decision, decide, outcome_unknown
from hub.resilience.idempotency import IdempotencyGuard
from hub.resilience.rate_limit import RateLimiter
from hub.resilience.retry import RetryStage, install_retry_hook
from hub.resilience.timeout import AttemptTimeout, current_time, deadline_exceeded

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from hub._runtime import Runtime
    from hub.capabilities._service import BoundProvider, Operation
    from hub.observability import BoundMetrics

__all__ = ["Executor", "ProviderPipeline", "counts_as_failure"]

R = TypeVar("R")
Invoke = Callable[[Any], Awaitable[Any]]


def counts_as_failure(exc: BaseException) -> bool:
    """Does ``exc`` count against the provider's circuit breaker?

    Only signs of an unhealthy vendor do: Unavailable, Timeout, or an unexpected exception.
    An answer, even a refusal (invalid request, decline, 429, bad key), shows it is up.
    """
    return isinstance(exc, Unavailable | Timeout) or not isinstance(exc, HubError)


class Executor:
    """Runs one operation over a provider chain: failover outside, per-provider stages inside."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._observability = runtime.observability
        self._pipelines: dict[tuple[str, str], ProviderPipeline] = {}
        install_retry_hook()

    def pipeline(self, capability: str, bound: BoundProvider[Any]) -> ProviderPipeline:
        """The stages of one provider, built on its first call and reused after."""
        key = (capability, bound.name)
        pipeline = self._pipelines.get(key)
        if pipeline is None:
            pipeline = self._pipelines[key] = ProviderPipeline(capability, bound, self._runtime)
        return pipeline

    @property
    def pipelines(self) -> dict[tuple[str, str], ProviderPipeline]:
        """Pipelines built so far, by (capability, provider); print one to see its stages."""
        return dict(self._pipelines)

    async def run(
        self,
        op: Operation,
        chain: Sequence[BoundProvider[Any]],
        invoke: Callable[[Any], Awaitable[R]],
    ) -> R:
        """``invoke(provider)`` through the stages of each provider of ``chain`` in turn."""
        tracer = self._observability.tracer()
        call = _Call(op, tracer)
        started = perf_counter()
        if tracer is None:
            try:
                result = await self._failover(call, chain, invoke)
            except BaseException as exc:
                call.finish(started, exc)
                raise
        else:
            span = tracer.start_span(
                f"{op.capability}.{op.name}",
                attributes={"hub.capability": op.capability, "hub.operation": op.name},
                record_exception=False,
                set_status_on_exception=False,
            )
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                result = await self._failover(call, chain, invoke)
            except BaseException as exc:
                call.finish(started, exc, span)
                raise
            else:
                call.finish(started, None, span)
            finally:
                span.end()
                otel_context.detach(token)
            return _with_attempts(result, call.attempts)
        call.finish(started, None)
        return _with_attempts(result, call.attempts)

    async def _failover(
        self,
        call: _Call,
        chain: Sequence[BoundProvider[Any]],
        invoke: Callable[[Any], Awaitable[R]],
    ) -> R:
        op = call.op
        last = len(chain) - 1
        for index, bound in enumerate(chain):
            pipeline = self.pipeline(op.capability, bound)
            call.enter(pipeline)
            try:
                return cast(R, await pipeline.entry(call, bound.provider, invoke))
            except Exception as exc:
                decision = decide(op, exc, bound.policy.failover)
                if decision is Decision.UNKNOWN:
                    raise outcome_unknown(op, bound.name, exc) from exc
                if decision is Decision.RAISE or index == last:
                    raise
                call.failover(exc, chain[index + 1].name)
        raise ConfigurationError(f"no {op.capability} provider to call: the chain is empty")


def _with_attempts(result: R, attempts: int) -> R:
    if attempts > 1 and isinstance(result, BaseModel) and "attempts" in type(result).model_fields:
        return cast(R, result.model_copy(update={"attempts": attempts}))
    return result


class _Call:
    """What one facade call carries through the stages: counts, the current provider, spans."""

    __slots__ = (
        "attempts",
        "deadline",
        "in_attempt",
        "last_error",
        "metrics",
        "op",
        "provider",
        "replayed",
        "tracer",
    )

    def __init__(self, op: Operation, tracer: Tracer | None) -> None:
        self.op = op
        self.tracer = tracer
        #: Attempts made across the whole chain (what a receipt's ``attempts`` reports).
        self.attempts = 0
        self.provider = ""
        self.metrics: BoundMetrics | None = None
        self.in_attempt = False
        self.last_error: Exception | None = None
        self.deadline: anyio.CancelScope | None = None
        self.replayed = False

    def enter(self, pipeline: ProviderPipeline) -> None:
        self.provider = pipeline.name
        self.metrics = pipeline.metrics_for(self.op.name)
        self.last_error = None
        self.deadline = None

    def retry_scheduled(self, error: Exception, wait: float) -> None:
        """The retry stage's observer: count the retry, note it on the call's span."""
        if self.metrics is not None:
            self.metrics.retry(error)
        if self.tracer is not None:
            trace.get_current_span().add_event(
                "hub.retry",
                {"hub.provider": self.provider, "error.type": error_type(error), "hub.wait": wait},
            )

    def failover(self, error: Exception, to_provider: str) -> None:
        if self.metrics is not None:
            self.metrics.failover(to_provider)
        if self.tracer is not None:
            trace.get_current_span().add_event(
                "hub.failover",
                {
                    "hub.provider": self.provider,
                    "hub.to_provider": to_provider,
                    "error.type": error_type(error),
                },
            )

    def finish(self, started: float, exc: BaseException | None, span: Span | None = None) -> None:
        metrics = self.metrics
        if metrics is not None:
            metrics.duration.observe(perf_counter() - started)
            (metrics.succeeded if exc is None else metrics.failed).inc()
        if span is not None:
            values: dict[str, Any] = {"hub.provider": self.provider, "hub.attempts": self.attempts}
            if self.replayed:
                values["hub.idempotent_replay"] = True
            end_span(span, exc, values)


class ProviderPipeline:
    """The stages of one provider, in order; built once from its policy."""

    def __init__(self, capability: str, bound: BoundProvider[Any], runtime: Runtime) -> None:
        policy, name = bound.policy, bound.name
        clock, state, metrics = runtime.clock, runtime.state, runtime.observability.metrics
        # The state store adds settings.state.prefix itself.
        prefix = f"{capability}:"
        self.capability = capability
        self.name = name
        self.guard: IdempotencyGuard | None = None
        if policy.idempotency.enabled and "idempotency" not in bound.spec.features:
            self.guard = IdempotencyGuard(
                policy.idempotency, state, clock, key_prefix=prefix, provider=name
            )
        self.limiter = concurrency_limit(policy.concurrency)
        #: The first stage after the idempotency guard (one coroutine less without a limit).
        self._enter = self._limited if self.limiter is not None else self._rated
        #: What a call enters: :meth:`run`, or straight the stage after it without a guard.
        self.entry: Callable[[_Call, Any, Invoke], Awaitable[Any]] = (
            self.run if self.guard is not None else self._enter
        )
        self.rate_limiter: RateLimiter | None = None
        if policy.rate_limit.rate is not None:
            self.rate_limiter = RateLimiter(
                name, policy.rate_limit, state, clock, key_prefix=prefix
            )
        self.total = policy.timeout.total
        self.retry = RetryStage(
            policy.retry,
            clock,
            total=self.total,
            honours_keys="idempotency" in bound.spec.features,
        )
        self.breaker: CircuitBreaker | None = None
        if policy.circuit_breaker.enabled:
            self.breaker = CircuitBreaker(
                name, policy.circuit_breaker, state, clock, key_prefix=prefix
            )
            self.breaker.on_state_change.append(metrics.circuit_observer(capability))
        self.timeout = AttemptTimeout(policy.timeout.attempt, total=self.total, provider=name)
        self._metrics = metrics
        self._bound_metrics: dict[str, BoundMetrics] = {}
        self._result_types: dict[str, type[BaseModel]] = {}

    def stages(self) -> list[str]:
        """The stages present, outermost first."""
        out = []
        if self.guard is not None:
            out.append("idempotency")
        if self.limiter is not None:
            out.append(f"concurrency({self.limiter.total_tokens:g})")
        if self.rate_limiter is not None:
            out.append(f"rate_limit({self.rate_limiter.policy.rate:g}/s)")
        if self.total is not None:
            out.append(f"deadline({self.total:g}s)")
        out.append(repr(self.retry))
        if self.breaker is not None:
            out.append("circuit_breaker")
        out.append(repr(self.timeout))
        return out

    def __repr__(self) -> str:
        return f"<ProviderPipeline {self.capability}/{self.name}: {' → '.join(self.stages())}>"

    def metrics_for(self, operation: str) -> BoundMetrics:
        bound = self._bound_metrics.get(operation)
        if bound is None:
            bound = self._bound_metrics[operation] = self._metrics.bind(
                self.capability, operation, self.name
            )
        return bound

    async def run(self, call: _Call, target: Any, invoke: Invoke) -> Any:
        op = call.op
        if self.guard is not None and op.remember_key and op.idempotency_key:
            result, replayed = await self.guard.run(
                f"{op.capability}.{op.name}",
                op.idempotency_key,
                partial(self._enter, call, target, invoke),
                self._result_type(op, target),
            )
            if replayed:
                call.replayed = True
                if call.metrics is not None:
                    call.metrics.replay()
            return result
        return await self._enter(call, target, invoke)

    async def _limited(self, call: _Call, target: Any, invoke: Invoke) -> Any:
        assert self.limiter is not None
        async with self.limiter:
            return await self._rated(call, target, invoke)

    async def _rated(self, call: _Call, target: Any, invoke: Invoke) -> Any:
        if self.rate_limiter is not None:
            waited = await self.rate_limiter.acquire()
            if call.metrics is not None:
                call.metrics.rate_limit_wait(waited)
        total = None if call.op.streaming else self.total
        started = current_time() if total is not None else 0.0
        # The first attempt needs no deadline scope of its own: its timeout is already the
        # shorter of the attempt timeout and the total deadline (one cancel scope, ~7 µs, saved).
        try:
            if call.tracer is None:  # _attempt without its span handling: one coroutine less
                call.attempts += 1
                return await self._attempt_once(call, target, invoke)
            return await self._attempt(call, target, invoke)
        except Exception as exc:
            if not self.retry.wants(call.op, exc):
                raise
            first = exc
        if total is None:
            return await self.retry.retry(call.op, call, first, self._attempt, call, target, invoke)
        with anyio.CancelScope(deadline=started + total) as scope:
            call.deadline = scope
            return await self.retry.retry(call.op, call, first, self._attempt, call, target, invoke)
        await self._deadline_exceeded(call, total)

    async def _deadline_exceeded(self, call: _Call, total: float) -> NoReturn:
        if not call.in_attempt and call.last_error is not None:
            # It ran out while waiting to retry: the last attempt's error says what happened.
            error: Exception = call.last_error
            note = f"the total deadline of {total:g}s ran out before the next retry"
            if note not in getattr(error, "__notes__", ()):
                error.add_note(note)
            raise error
        call.in_attempt = False
        error = deadline_exceeded(self.name, total, call.attempts)
        if call.metrics is not None:
            call.metrics.attempt_failed(error)
        if self.breaker is not None:
            await self.breaker.record_failure()
        raise error

    async def _attempt(self, call: _Call, target: Any, invoke: Invoke) -> Any:
        call.attempts += 1
        tracer = call.tracer
        if tracer is None:
            return await self._attempt_once(call, target, invoke)
        if call.attempts == 1:
            # The first attempt runs under the call span, and gets a span of its own only if it
            # fails, started after the fact: a call that succeeds at once is one span, not two
            # (docs/observability.md, "The shape of a call's spans").
            started = time_ns()
            try:
                return await self._attempt_once(call, target, invoke)
            except BaseException as exc:
                span = self._attempt_span(tracer, call, started)
                end_span(span, exc)
                span.end()
                raise
        span = self._attempt_span(tracer, call)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = await self._attempt_once(call, target, invoke)
        except BaseException as exc:
            seen: BaseException = exc
            if call.deadline is not None and call.deadline.cancel_called:
                # Cancelled by the total deadline: record it as the Timeout the caller gets.
                seen = deadline_exceeded(self.name, self.total or 0.0, call.attempts)
            end_span(span, seen)
            raise
        else:
            end_span(span, None)
        finally:
            span.end()
            otel_context.detach(token)
        return result

    def _attempt_span(self, tracer: Tracer, call: _Call, start_time: int | None = None) -> Span:
        op = call.op
        return tracer.start_span(
            f"{op.capability}.{op.name} attempt",
            kind=SpanKind.CLIENT,
            attributes={
                "hub.capability": op.capability,
                "hub.operation": op.name,
                "hub.provider": self.name,
                "hub.attempt": call.attempts,
            },
            start_time=start_time,
            record_exception=False,
            set_status_on_exception=False,
        )

    async def _attempt_once(self, call: _Call, target: Any, invoke: Invoke) -> Any:
        breaker = self.breaker
        try:
            if breaker is not None and not breaker.acquire_nowait():
                await breaker.acquire()
            call.in_attempt = True
            if call.op.streaming:
                # Streams run as long as data flows; a stalled one ends on the HTTP read timeout.
                result = await invoke(target)
            else:
                result = await self.timeout.run(invoke, target)
        except Exception as exc:
            admitted, call.in_attempt = call.in_attempt, False
            call.last_error = exc
            if call.metrics is not None:
                call.metrics.attempt_failed(exc)
            if admitted and breaker is not None:
                if counts_as_failure(exc):
                    await breaker.record_failure()
                else:
                    await breaker.record_success()
            raise
        except BaseException:
            # Cancelled mid-attempt: no verdict, but a half-open trial slot must be freed.
            admitted, call.in_attempt = call.in_attempt, False
            if admitted and breaker is not None:
                with anyio.CancelScope(shield=True):
                    await breaker.release()
            raise
        call.in_attempt = False
        if call.metrics is not None:
            call.metrics.attempt_ok.inc()
        if breaker is not None and not breaker.record_success_nowait():
            await breaker.record_success()
        return result

    def _result_type(self, op: Operation, target: Any) -> type[BaseModel]:
        """The model a remembered result is stored as: the service's, else the provider's."""
        if op.result_type is not None:
            return op.result_type
        operation = op.name
        found = self._result_types.get(operation)
        if found is None:
            found = self._result_types[operation] = _declared_result(target, operation, self.name)
        return found


def _declared_result(target: Any, operation: str, provider: str) -> type[BaseModel]:
    method = getattr(type(target), operation, None)
    try:
        declared = typing.get_type_hints(method).get("return") if method is not None else None
    except Exception:  # unresolvable annotations: report below
        declared = None
    if isinstance(declared, type) and issubclass(declared, BaseModel):
        return declared
    raise ConfigurationError(
        f"provider {provider!r} has no idempotency of its own, so the hub remembers its results "
        f"by key; annotate {type(target).__name__}.{operation}() with the pydantic model it "
        "returns (or declare the 'idempotency' feature if the vendor deduplicates keys itself)"
    )
