"""Spans and metrics of the hub, in one place (see docs/observability.md).

Tracing: one span per facade call (``"email.send"``) and a child per attempt, created only when
a real OpenTelemetry ``TracerProvider`` is installed globally or injected into the Hub, so an app
without tracing pays a ``None`` check. Metrics: Prometheus families registered once per registry
(the global ``REGISTRY`` unless one is injected), with label children pre-bound per
(capability, operation, provider) so the success path only increments. Label values are bounded:
error labels are class names from the hub's error tree, never messages.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from hub import errors as _errors

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = [
    "CIRCUIT_STATES",
    "BoundMetrics",
    "HubMetrics",
    "Observability",
    "end_span",
    "error_type",
    "metrics_app",
]

#: ``hub_circuit_state`` values.
CIRCUIT_STATES: dict[str, int] = {"closed": 0, "half_open": 1, "open": 2}
#: The ``error`` label and ``error.type`` value of exceptions outside the hub's tree (OTel's own).
OTHER_ERROR = "_OTHER"

_HUB_ERRORS = frozenset(getattr(_errors, name) for name in _errors.__all__)
_error_names: dict[type[BaseException], str] = {}


def error_type(exc: BaseException) -> str:
    """The bounded name of an error: its nearest class in the hub's tree, else ``_OTHER``."""
    cls = type(exc)
    name = _error_names.get(cls)
    if name is None:
        hub_base = next((base for base in cls.__mro__ if base in _HUB_ERRORS), None)
        name = _error_names[cls] = hub_base.__name__ if hub_base is not None else OTHER_ERROR
    return name


# -- metrics ----------------------------------------------------------------------------------


class HubMetrics:
    """The hub's metric families in one registry; use :meth:`for_registry` to share them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.operations = Counter(
            "hub_operations",
            "Facade calls, by the provider that ended them and their outcome.",
            ["capability", "operation", "provider", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "hub_operation_duration_seconds",
            "Duration of facade calls, retries and failover included.",
            ["capability", "operation", "provider"],
            registry=registry,
        )
        self.attempts = Counter(
            "hub_attempts",
            "Attempts on a provider (error='none' for successful ones).",
            ["capability", "provider", "error"],
            registry=registry,
        )
        self.retries = Counter(
            "hub_retries",
            "Retries scheduled on the same provider, by the error that caused them.",
            ["capability", "provider", "error"],
            registry=registry,
        )
        self.failovers = Counter(
            "hub_failovers",
            "Moves from one provider of a chain to the next.",
            ["capability", "from_provider", "to_provider"],
            registry=registry,
        )
        self.circuit_state = Gauge(
            "hub_circuit_state",
            "Circuit breaker state: 0 closed, 1 half_open, 2 open.",
            ["capability", "provider"],
            registry=registry,
        )
        self.rate_limit_wait = Histogram(
            "hub_rate_limit_wait_seconds",
            "Time spent waiting for the hub's own rate limiter.",
            ["capability", "provider"],
            buckets=(0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )
        self.idempotent_replays = Counter(
            "hub_idempotent_replays",
            "Calls answered with the remembered result of an earlier call with the same key.",
            ["capability", "provider"],
            registry=registry,
        )

    _shared: weakref.WeakKeyDictionary[CollectorRegistry, HubMetrics] = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> HubMetrics:
        """The families registered in ``registry`` (default: the global one), created once."""
        registry = REGISTRY if registry is None else registry
        with cls._lock:
            metrics = cls._shared.get(registry)
            if metrics is None:
                metrics = cls._shared[registry] = cls(registry)
            return metrics

    def bind(self, capability: str, operation: str, provider: str) -> BoundMetrics:
        """Children for one (capability, operation, provider), bound once."""
        return BoundMetrics(
            capability=capability,
            provider=provider,
            succeeded=self.operations.labels(capability, operation, provider, "success"),
            failed=self.operations.labels(capability, operation, provider, "error"),
            duration=self.duration.labels(capability, operation, provider),
            attempt_ok=self.attempts.labels(capability, provider, "none"),
            metrics=self,
        )

    def circuit_observer(self, capability: str) -> Callable[[str, str, str], None]:
        """A breaker ``on_state_change`` callback that moves ``hub_circuit_state``."""

        def observe(provider: str, old: str, new: str) -> None:
            self.circuit_state.labels(capability, provider).set(CIRCUIT_STATES.get(new, -1))

        return observe


@dataclass(frozen=True, slots=True)
class BoundMetrics:
    """Pre-bound children of one (capability, operation, provider); errors label on demand."""

    capability: str
    provider: str
    succeeded: Counter
    failed: Counter
    duration: Histogram
    attempt_ok: Counter
    metrics: HubMetrics

    def attempt_failed(self, exc: BaseException) -> None:
        self.metrics.attempts.labels(self.capability, self.provider, error_type(exc)).inc()

    def retry(self, exc: BaseException) -> None:
        self.metrics.retries.labels(self.capability, self.provider, error_type(exc)).inc()

    def failover(self, to_provider: str) -> None:
        self.metrics.failovers.labels(self.capability, self.provider, to_provider).inc()

    def rate_limit_wait(self, seconds: float) -> None:
        self.metrics.rate_limit_wait.labels(self.capability, self.provider).observe(seconds)

    def replay(self) -> None:
        self.metrics.idempotent_replays.labels(self.capability, self.provider).inc()


def metrics_app(registry: CollectorRegistry | None = None) -> Callable[..., Any]:
    """An ASGI app serving the registry in Prometheus' text format; mount it at ``/metrics``."""
    from prometheus_client import make_asgi_app

    app: Callable[..., Any] = make_asgi_app(REGISTRY if registry is None else registry)
    return app


# -- tracing ----------------------------------------------------------------------------------


class _Tracing:
    """Finds the tracer to use, or None when no real TracerProvider is installed."""

    __slots__ = ("_injected", "_provider", "_tracer")

    def __init__(self, provider: TracerProvider | None) -> None:
        self._injected = provider is not None
        self._provider: object | None = provider
        self._tracer: Tracer | None = _tracer_of(provider) if provider is not None else None

    def tracer(self) -> Tracer | None:
        if self._injected:
            return self._tracer
        # The global provider can be installed after the hub was built: look it up on every
        # call, and decide whether it is a real one only when it changed.
        provider = _global_tracer_provider()
        if provider is not self._provider:
            self._provider = provider
            self._tracer = (
                None
                if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)
                else _tracer_of(provider)
            )
        return self._tracer


#: Where ``trace.set_tracer_provider`` keeps the global provider (None until it is called).
_GLOBAL_PROVIDER_ATTRIBUTE = "_TRACER_PROVIDER"


def _global_tracer_provider() -> trace.TracerProvider:
    """``trace.get_tracer_provider()`` minus its look into os.environ while none is set
    (1.5 µs of every call): only OTEL_PYTHON_TRACER_PROVIDER, read on the first call, or
    ``set_tracer_provider`` install one, and either fills the attribute read here first."""
    provider: trace.TracerProvider | None = getattr(trace, _GLOBAL_PROVIDER_ATTRIBUTE, None)
    if provider is not None:
        return provider
    return _PROXY if _PROXY is not None else trace.get_tracer_provider()


def _proxy_when_unset() -> trace.TracerProvider | None:
    """The proxy the API answers while nothing is set, if that can be told without a call
    per call: the attribute exists (else a future API moved it) and no env var names one."""
    import os

    from opentelemetry.environment_variables import OTEL_PYTHON_TRACER_PROVIDER

    if not hasattr(trace, _GLOBAL_PROVIDER_ATTRIBUTE) or OTEL_PYTHON_TRACER_PROVIDER in os.environ:
        return None
    return trace.get_tracer_provider()


_PROXY = _proxy_when_unset()


def _tracer_of(provider: TracerProvider) -> Tracer:
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("integration-hub")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        own = None
    return provider.get_tracer("hub", own)


def end_span(
    span: Span, exc: BaseException | None, attributes: dict[str, Any] | None = None
) -> None:
    """Mark a span's outcome the OTel way: ``hub.outcome``, ``error.type`` and ERROR status.

    ``attributes`` are set in the same call: each ``set_attribute(s)`` takes the span's lock and
    validates what it is given, so the success path makes one call and leaves the status UNSET
    (what the OTel conventions ask of a span that did not fail).
    """
    if exc is None:
        if attributes is None:
            span.set_attribute("hub.outcome", "success")
        else:
            attributes["hub.outcome"] = "success"
            span.set_attributes(attributes)
        return
    name = error_type(exc)
    values = {} if attributes is None else attributes
    values["hub.outcome"] = "error"
    values["error.type"] = name
    span.set_attributes(values)
    span.record_exception(exc)
    span.set_status(trace.StatusCode.ERROR, name)


class Observability:
    """What one Hub records calls into: its metrics registry and its tracer (if any)."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.metrics = HubMetrics.for_registry(registry)
        self._tracing = _Tracing(tracer_provider)

    def tracer(self) -> Tracer | None:
        """The tracer for this call, or None: then no span is created at all."""
        return self._tracing.tracer()

    def __repr__(self) -> str:
        return f"<Observability registry={self.metrics.registry!r}>"
