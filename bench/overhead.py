"""What the resilience pipeline costs when nothing fails: µs of CPU per call, stage by stage.

::

    uv run python bench/overhead.py            # writes bench/results/overhead.json

The provider answers at once (a prebuilt receipt), so every microsecond measured is the hub's.
Each figure is CPU time (``time.process_time``, every thread: the OpenTelemetry batch exporter
thread counts) per call, minus the same loop calling the provider directly, best of
``--repeats`` runs of ``--n`` sequential calls (as ``timeit`` advises: the others are noise).
The loops let the event loop run every ``YIELD_EVERY`` calls, as a real provider's I/O would:
an instant provider never suspends, so without it asyncio would keep every cancelled attempt
timer of the run, each holding a copy of the context (with OpenTelemetry, that attempt's span),
and the garbage collector's growing work would be charged to the pipeline, more for larger
``--n``.

- *stage alone*: one strategy's success path around the provider call;
- *whole pipeline*: ``Service._call`` (the operation record, feature check, failover loop,
  every default stage, metrics), with metrics only and with the OpenTelemetry SDK, a
  ``BatchSpanProcessor`` and an exporter that drops the spans;
- for information: the hub's own idempotency guard (vendors without keys) and the whole
  ``hub.email.send`` facade (pydantic validation of the message included).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, machine_info, markdown_table

__all__ = ["main"]

Step = Callable[[], Awaitable[object]]
#: Calls between two turns of the event loop (see the module docstring).
YIELD_EVERY = 64


async def cpu_us(step: Step, n: int, repeats: int) -> float:
    """Best-of-``repeats`` CPU µs per ``await step()``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for i in range(n):
            if not i % YIELD_EVERY:
                await asyncio.sleep(0)
            await step()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def sync_cpu_us(step: Callable[[], object], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(n):
            step()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def fresh_keys(count: int) -> Iterator[str]:
    """Idempotency keys made before the clock starts (the facade's uuid4 is not the pipeline)."""
    return iter([uuid.uuid4().hex for _ in range(count)])


class InstantProvider:
    """An email provider that answers at once with the same receipt."""

    def __init__(self, receipt: Any) -> None:
        self.receipt = receipt

    async def send(self, message: Any, *, idempotency_key: str) -> Any:
        return self.receipt

    async def aclose(self) -> None:
        """Nothing to close."""


class DropSpans:
    """A span exporter that exports nowhere: the cost measured is the SDK's, not an I/O's."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def tracer_provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropSpans()))  # type: ignore[arg-type]
    return provider


async def instant_hub(stack: AsyncExitStack, *, own_keys: bool, tracing: Any = None) -> Any:
    """A hub whose email chain is one InstantProvider; ``own_keys``: it declares idempotency."""
    from prometheus_client import CollectorRegistry

    from hub import EmailReceipt, Hub

    h = await stack.enter_async_context(
        Hub.from_settings(
            env="test",
            email={"default_from": "bench@example.com"},
            metrics_registry=CollectorRegistry(),
            tracer_provider=tracing,
        )
    )
    email = h.email
    bound = email._providers[0]
    receipt = EmailReceipt(provider=bound.name, provider_id="instant", idempotency_key="k")
    bound.provider = InstantProvider(receipt)
    features = (
        bound.spec.features | {"idempotency"} if own_keys else bound.spec.features - {"idempotency"}
    )
    bound.spec = dataclasses.replace(bound.spec, features=features)
    return h


async def measure(n: int, repeats: int) -> list[tuple[str, str, float]]:
    """(group, what, µs) rows; the baseline is already subtracted."""
    import anyio

    from hub import EmailMessage, EmailReceipt
    from hub.resilience.circuit_breaker import CircuitBreaker
    from hub.resilience.clock import SYSTEM_CLOCK
    from hub.resilience.idempotency import IdempotencyGuard
    from hub.resilience.policy import (
        CircuitBreakerPolicy,
        IdempotencyPolicy,
        RateLimitPolicy,
    )
    from hub.resilience.rate_limit import RateLimiter
    from hub.resilience.timeout import AttemptTimeout
    from hub.state.memory import MemoryStateStore

    rows: list[tuple[str, str, float]] = []
    message = EmailMessage.model_validate(
        {"from": "bench@example.com", "to": "ada@example.com", "subject": "Hi", "text": "Hello"}
    )
    receipt = EmailReceipt(provider="instant", provider_id="instant", idempotency_key="k")
    target = InstantProvider(receipt)

    async def invoke(provider: InstantProvider) -> Any:
        return await provider.send(message, idempotency_key="k")

    async def direct() -> Any:
        return await invoke(target)

    base = await cpu_us(direct, n, repeats)
    rows.append(("baseline", "calling the provider directly (subtracted below)", base))

    state = MemoryStateStore()
    timeout = AttemptTimeout(10.0, total=30.0, provider="instant")
    breaker = CircuitBreaker("instant", CircuitBreakerPolicy(), state, SYSTEM_CLOCK)
    guard = IdempotencyGuard(IdempotencyPolicy(), state, SYSTEM_CLOCK, provider="instant")
    limiter = anyio.CapacityLimiter(100)
    rate = RateLimiter("instant", RateLimitPolicy(rate=1e9), state, SYSTEM_CLOCK)

    async def with_timeout() -> object:
        return await timeout.run(invoke, target)

    async def with_breaker() -> object:
        await breaker.acquire()
        result = await invoke(target)
        await breaker.record_success()
        return result

    guard_keys = fresh_keys(n * repeats)

    async def with_guard() -> object:
        return await guard.run("email.send", next(guard_keys), direct, EmailReceipt)

    async def with_limiter() -> object:
        async with limiter:
            return await invoke(target)

    async def with_rate_limit() -> object:
        await rate.acquire()
        return await invoke(target)

    for what, step in (
        ("attempt timeout (one shared timer on asyncio)", with_timeout),
        ("circuit breaker, closed (memory store)", with_breaker),
        ("concurrency limit (anyio.CapacityLimiter; off by default)", with_limiter),
        ("rate limit (memory token bucket; off by default)", with_rate_limit),
        ("idempotency guard (memory store; vendors without keys)", with_guard),
    ):
        rows.append(("stage alone", what, await cpu_us(step, n, repeats) - base))
    rows.append(("stage alone", "retry (stamina): not entered until an attempt fails", 0.0))

    from prometheus_client import CollectorRegistry

    from hub.observability import HubMetrics

    bound = HubMetrics(CollectorRegistry()).bind("email", "send", "instant")

    def count() -> None:
        bound.duration.observe(0.001)
        bound.succeeded.inc()
        bound.attempt_ok.inc()

    rows.append(("stage alone", "metrics (pre-bound children)", sync_cpu_us(count, n, repeats)))

    tracing = tracer_provider()
    tracer = tracing.get_tracer("bench")

    def spans() -> None:
        with tracer.start_as_current_span(
            "email.send", attributes={"hub.capability": "email"}
        ) as s:
            s.set_attribute("hub.provider", "instant")
            with tracer.start_as_current_span("email.send attempt") as a:
                a.set_attribute("hub.outcome", "success")
            s.set_attribute("hub.outcome", "success")

    def call_span() -> None:
        with tracer.start_as_current_span(
            "email.send", attributes={"hub.capability": "email"}
        ) as s:
            s.set_attribute("hub.provider", "instant")
            s.set_attribute("hub.outcome", "success")

    rows.append(
        (
            "stage alone",
            "spans: call + attempt (OTel SDK, batch processor)",
            sync_cpu_us(spans, n, repeats),
        )
    )
    rows.append(
        (
            "stage alone",
            "spans: call only, the hub's success path (OTel SDK, batch processor)",
            sync_cpu_us(call_span, n, repeats),
        )
    )

    for label, own_keys, tracing_on in (
        ("whole pipeline, metrics only", True, False),
        ("whole pipeline, metrics + OTel SDK (BatchSpanProcessor)", True, True),
        ("whole pipeline + the hub's idempotency guard, metrics only", False, False),
    ):
        async with AsyncExitStack() as stack:
            provider = tracer_provider() if tracing_on else None
            h = await instant_hub(stack, own_keys=own_keys, tracing=provider)
            email = h.email
            keys = fresh_keys(n * repeats)

            async def whole(email: Any = email, keys: Iterator[str] = keys) -> object:
                key = next(keys)
                return await email._call(
                    "send",
                    lambda p: p.send(message, idempotency_key=key),
                    idempotency_key=key,
                    remember_key=True,
                    result_type=EmailReceipt,
                )

            rows.append(("whole", label, await cpu_us(whole, n, repeats) - base))
            if provider is not None:
                provider.shutdown()

    async with AsyncExitStack() as stack:
        h = await instant_hub(stack, own_keys=True)
        email = h.email

        async def facade() -> object:
            return await email.send(to="ada@example.com", subject="Hi", text="Hello")

        rows.append(
            (
                "facade",
                "hub.email.send (validation + pipeline), metrics only",
                await cpu_us(facade, n, repeats) - base,
            )
        )
    tracing.shutdown()
    return rows


def section(rows: list[tuple[str, str, float]], n: int, repeats: int) -> str:
    table = [[group, what, f"{us:.1f}"] for group, what, us in rows]
    return (
        "## Pipeline overhead on an instant provider (`bench/overhead.py`)\n\n"
        f"CPU µs per call, best of {repeats} x {n:,} sequential calls, "
        "provider call subtracted.\n\n" + markdown_table(["", "what", "µs/call"], table)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="µs per call of the pipeline's stages.")
    parser.add_argument("--n", type=int, default=20_000, help="calls per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: does it work at all")
    parser.add_argument(
        "--json",
        type=Path,
        default=BENCH_DIR / "results" / "overhead.json",
        help="where results go",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeats = 200, 1
    rows = asyncio.run(measure(args.n, args.repeats))
    markdown = section(rows, args.n, args.repeats)
    print(markdown)
    whole = {what: us for group, what, us in rows if group == "whole"}
    out = {
        "info": machine_info(),
        "rows": rows,
        "whole_metrics_us": whole["whole pipeline, metrics only"],
        "whole_otel_us": whole["whole pipeline, metrics + OTel SDK (BatchSpanProcessor)"],
        "markdown": markdown,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
