"""Spans (OpenTelemetry's in-memory exporter) and metrics (a private Prometheus registry)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

from hub.capabilities.email import EmailMessage, EmailReceipt
from hub.errors import InvalidRequest, RateLimited, Unavailable
from hub.observability import HubMetrics, Observability, error_type, metrics_app
from tests.test_pipeline import email_section, fake, make_hub, registry_with, send

if TYPE_CHECKING:
    from hub.core import Hub

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def traced_hub(tracer_provider: TracerProvider) -> Hub:
    """A hub on the fake email provider whose spans go to ``tracer_provider``."""
    from hub.core import Hub

    return Hub.from_settings(
        env="test",
        email=email_section(),
        tracer_provider=tracer_provider,
        metrics_registry=CollectorRegistry(),
    )


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    def attempt(span: ReadableSpan) -> int:
        return int((span.attributes or {}).get("hub.attempt", 0))  # type: ignore[arg-type]

    return sorted((s for s in spans if s.name == name), key=attempt)


# -- spans ------------------------------------------------------------------------------------


async def test_a_call_that_succeeds_at_once_is_one_span(
    exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    async with traced_hub(tracer_provider) as h:
        await send(h)
    [call] = exporter.get_finished_spans()
    assert call.name == "email.send"
    assert call.kind is SpanKind.INTERNAL
    assert dict(call.attributes or {}) == {
        "hub.capability": "email",
        "hub.operation": "send",
        "hub.provider": "fake",
        "hub.attempts": 1,
        "hub.outcome": "success",
    }
    assert call.status.status_code is StatusCode.UNSET
    assert not call.events


async def test_a_retried_call_has_a_child_span_per_attempt(
    exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    async with traced_hub(tracer_provider) as h:
        fake(h).fail_next(1)
        await send(h)
    spans = exporter.get_finished_spans()
    [call] = by_name(spans, "email.send")
    attempts = by_name(spans, "email.send attempt")
    assert dict(call.attributes or {}) == {
        "hub.capability": "email",
        "hub.operation": "send",
        "hub.provider": "fake",
        "hub.attempts": 2,
        "hub.outcome": "success",
    }
    assert [e.name for e in call.events] == ["hub.retry"]
    assert [dict(a.attributes or {}) for a in attempts] == [
        {
            "hub.capability": "email",
            "hub.operation": "send",
            "hub.provider": "fake",
            "hub.attempt": 1,
            "hub.outcome": "error",
            "error.type": "Unavailable",
        },
        {
            "hub.capability": "email",
            "hub.operation": "send",
            "hub.provider": "fake",
            "hub.attempt": 2,
            "hub.outcome": "success",
        },
    ]
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert all(a.kind is SpanKind.CLIENT for a in attempts)
    assert call.context is not None
    assert all(a.parent is not None and a.parent.span_id == call.context.span_id for a in attempts)
    # The failed first attempt's span, made after the fact, still covers that attempt's time.
    first, second = attempts
    times = (call.start_time, first.start_time, first.end_time, second.start_time)
    order = [t for t in times if t is not None]
    assert len(order) == len(times)
    assert order == sorted(order)


async def test_an_http_clients_spans_nest_under_the_span_of_their_attempt(
    exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    """What an instrumented HTTP client sees: the call span during a first attempt, the attempt's
    own span during a retry."""
    http = tracer_provider.get_tracer("an instrumented http client")
    async with traced_hub(tracer_provider) as h:
        provider = fake(h)
        send_once = provider.send

        async def instrumented(message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
            with http.start_as_current_span("POST", kind=SpanKind.CLIENT):
                return await send_once(message, idempotency_key=idempotency_key)

        provider.send = instrumented  # type: ignore[method-assign]
        await send(h)
        at_once = exporter.get_finished_spans()
        exporter.clear()
        provider.fail_next(1)
        await send(h)
        retried = exporter.get_finished_spans()

    def parent_of(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> str:
        assert span.parent is not None
        [parent] = [s for s in spans if s.context is not None and s.context == span.parent]
        return f"{parent.name} {(parent.attributes or {}).get('hub.attempt', '')}".strip()

    assert [s.name for s in at_once] == ["POST", "email.send"]
    assert parent_of(at_once[0], at_once) == "email.send"
    posts = [s for s in retried if s.name == "POST"]
    assert [parent_of(post, retried) for post in posts] == ["email.send", "email.send attempt 2"]


async def test_a_failed_call_span_carries_the_error_type(
    exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    async with traced_hub(tracer_provider) as h:
        fake(h).fail_next(1, InvalidRequest("the vendor said 400", provider="fake"))
        with pytest.raises(InvalidRequest):
            await send(h)
    spans = exporter.get_finished_spans()
    [call] = by_name(spans, "email.send")
    assert call.attributes is not None
    assert call.attributes["hub.outcome"] == "error"
    assert call.attributes["error.type"] == "InvalidRequest"
    assert call.status.status_code is StatusCode.ERROR
    # Its only attempt failed, so that attempt has its span too.
    [attempt] = by_name(spans, "email.send attempt")
    assert attempt.attributes is not None
    assert attempt.attributes["error.type"] == "InvalidRequest"
    assert attempt.attributes["hub.attempt"] == 1
    assert [e.name for e in attempt.events] == ["exception"]


def test_no_spans_without_a_tracer_provider() -> None:
    # Nothing installed a global TracerProvider in this process: zero tracing cost.
    assert Observability(registry=CollectorRegistry()).tracer() is None


GLOBAL_PROVIDER_LATER = """
import anyio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from hub import Hub

async def main() -> None:
    async with Hub.from_settings(env="test", email={"default_from": "shop@example.com"}) as h:
        await h.email.send(to="ada@example.com", subject="before", text="Hi")
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        await h.email.send(to="ada@example.com", subject="after", text="Hi")
        print([span.name for span in exporter.get_finished_spans()])

anyio.run(main)
"""


def test_a_global_tracer_provider_set_after_the_hub_was_built_is_used() -> None:
    """The global provider is looked up per call (the hub may be built first); in a fresh
    process, since a global provider can be set only once."""
    done = subprocess.run(
        [sys.executable, "-c", GLOBAL_PROVIDER_LATER],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "OTEL_"))},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['email.send']"


# -- metrics ----------------------------------------------------------------------------------


async def test_metrics_count_calls_attempts_and_retries() -> None:
    metrics = CollectorRegistry()
    async with make_hub(metrics=metrics) as h:
        fake(h).faults.fail_next(1, lambda p: RateLimited("429", provider=p, retry_after=1))
        await send(h)
        fake(h).fail_next(3)
        with pytest.raises(Unavailable):
            await send(h)

    def value(name: str, **labels: str) -> float | None:
        return metrics.get_sample_value(name, labels)

    base = {"capability": "email", "operation": "send", "provider": "fake"}
    assert value("hub_operations_total", **base, outcome="success") == 1
    assert value("hub_operations_total", **base, outcome="error") == 1
    assert value("hub_operation_duration_seconds_count", **base) == 2
    email_fake = {"capability": "email", "provider": "fake"}
    assert value("hub_attempts_total", **email_fake, error="none") == 1
    assert value("hub_attempts_total", **email_fake, error="RateLimited") == 1
    assert value("hub_attempts_total", **email_fake, error="Unavailable") == 3
    assert value("hub_retries_total", **email_fake, error="RateLimited") == 1
    assert value("hub_retries_total", **email_fake, error="Unavailable") == 2


async def test_idempotent_replays_are_counted() -> None:
    metrics = CollectorRegistry()
    registry = registry_with("email", "forgetful", features=frozenset())
    email = {**email_section(), "provider": "forgetful"}
    async with make_hub(metrics=metrics, registry=registry, email=email) as h:
        await send(h, idempotency_key="k-1")
        await send(h, idempotency_key="k-1")
    labels = {"capability": "email", "provider": "forgetful"}
    assert metrics.get_sample_value("hub_idempotent_replays_total", labels) == 1


async def test_rate_limit_waits_are_observed() -> None:
    metrics = CollectorRegistry()
    email = email_section(rate_limit={"rate": 1, "burst": 1, "max_wait": 5})
    async with make_hub(metrics=metrics, email=email) as h:
        await send(h)
        await send(h)  # waits ~1 s on the fake clock for its token
    labels = {"capability": "email", "provider": "fake"}
    assert metrics.get_sample_value("hub_rate_limit_wait_seconds_count", labels) == 2
    total = metrics.get_sample_value("hub_rate_limit_wait_seconds_sum", labels)
    assert total == pytest.approx(1.0)


def test_families_are_registered_once_per_registry() -> None:
    registry = CollectorRegistry()
    assert HubMetrics.for_registry(registry) is HubMetrics.for_registry(registry)
    assert HubMetrics.for_registry(registry) is not HubMetrics.for_registry(CollectorRegistry())


def test_error_labels_are_bounded_to_the_hub_tree() -> None:
    class VendorHiccup(Unavailable):
        """A plugin's own subclass: labelled by its hub ancestor."""

    assert error_type(VendorHiccup("x", provider="acme")) == "Unavailable"
    assert error_type(KeyError("secret-looking detail")) == "_OTHER"


async def test_metrics_app_serves_the_registry() -> None:
    metrics = CollectorRegistry()
    async with make_hub(metrics=metrics) as h:
        await send(h)
    transport = httpx.ASGITransport(app=metrics_app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert 'hub_operations_total{capability="email"' in response.text
