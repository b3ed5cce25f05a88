"""Spans (OpenTelemetry's in-memory exporter) and metrics (a private Prometheus registry)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

from hub.errors import InvalidRequest, RateLimited, Unavailable
from hub.observability import HubMetrics, Observability, error_type, metrics_app
from tests.test_pipeline import email_section, fake, make_hub, registry_with, send

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


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    def attempt(span: ReadableSpan) -> int:
        return int((span.attributes or {}).get("hub.attempt", 0))  # type: ignore[arg-type]

    return sorted((s for s in spans if s.name == name), key=attempt)


# -- spans ------------------------------------------------------------------------------------


async def test_a_call_span_with_one_child_per_attempt(
    exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    from hub.core import Hub

    async with Hub.from_settings(
        env="test",
        email=email_section(),
        tracer_provider=tracer_provider,
        metrics_registry=CollectorRegistry(),
    ) as h:
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


async def test_a_failed_call_span_carries_the_error_type(
    exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    from hub.core import Hub

    async with Hub.from_settings(
        env="test", email=email_section(), tracer_provider=tracer_provider
    ) as h:
        fake(h).fail_next(1, InvalidRequest("the vendor said 400", provider="fake"))
        with pytest.raises(InvalidRequest):
            await send(h)
    [call] = by_name(exporter.get_finished_spans(), "email.send")
    assert call.attributes is not None
    assert call.attributes["hub.outcome"] == "error"
    assert call.attributes["error.type"] == "InvalidRequest"
    assert call.status.status_code is StatusCode.ERROR


def test_no_spans_without_a_tracer_provider() -> None:
    # Nothing installed a global TracerProvider in this process: zero tracing cost.
    assert Observability(registry=CollectorRegistry()).tracer() is None


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
