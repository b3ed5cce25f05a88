"""docs/observability.md, checked: its examples run, and its tables, queries and panel name
exactly the spans, attributes, metrics and labels the hub produces after a varied workload."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

import hub
from hub import errors
from hub.testing.clock import FakeClock
from tests.test_docs_resilience import Block, code_blocks, run_python, table, unquote
from tests.test_pipeline import fake, registry_with

OBSERVABILITY = Path(__file__).resolve().parents[1] / "docs" / "observability.md"
TYPES = {"counter", "gauge", "histogram"}


@pytest.mark.anyio
@pytest.mark.usefixtures("isolated_env")
@pytest.mark.parametrize("block", code_blocks(OBSERVABILITY, "python"), ids=lambda b: b.id)
async def test_example(
    block: Block, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_python(block, request, monkeypatch)


def test_every_block_is_checked() -> None:
    assert {b.lang for b in code_blocks(OBSERVABILITY)} <= {"python", "promql", "json", "text"}


# -- what a varied workload produces ----------------------------------------------------------


@dataclass
class Observed:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    spans: tuple[ReadableSpan, ...] = ()

    def families(self) -> dict[str, tuple[str, set[str], set[str]]]:
        """Each hub family by the name PromQL uses: (type, label names, sample names)."""
        out: dict[str, tuple[str, set[str], set[str]]] = {}
        for family in self.registry.collect():
            if not family.name.startswith("hub_"):
                continue
            name = f"{family.name}_total" if family.type == "counter" else family.name
            labels = {k for s in family.samples for k in s.labels if k != "le"}
            out[name] = (family.type, labels, {s.name for s in family.samples})
        return out

    def label_values(self, label: str) -> set[str]:
        return {
            s.labels[label]
            for family in self.registry.collect()
            if family.name.startswith("hub_")
            for s in family.samples
            if label in s.labels
        }


def _refused(provider: str) -> hub.HubError:
    return hub.Unavailable("connection refused", provider=provider, failover_safe=True)


def _bug(provider: str) -> hub.HubError:
    raise RuntimeError("a bug in the provider")  # not a hub error: labelled _OTHER


async def _workload(observed: Observed) -> None:
    """Success, replay, retry, rate-limit wait, failover, an open breaker, errors."""
    exporter = InMemorySpanExporter()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(exporter))
    registry = registry_with("email", "primary", "backup", features=frozenset())
    email = {
        "providers": ["primary", "backup"],
        "default_from": "shop@example.com",
        "resilience": {
            "retry": {"attempts": 2, "wait_initial": 0.0, "wait_jitter": 0.0},
            "circuit_breaker": {"consecutive_failures": 2},
            "rate_limit": {"rate": 10.0, "burst": 1, "max_wait": 5.0},
        },
    }
    async with hub.Hub.from_settings(
        env="test",
        registry=registry,
        clock=FakeClock(),
        metrics_registry=observed.registry,
        tracer_provider=tracing,
        email=email,
    ) as h:
        primary, backup = fake(h, "primary"), fake(h, "backup")

        async def send(**fields: str) -> None:
            await h.email.send(to="ada@example.com", subject="Hi", text="Hello", **fields)

        await send(idempotency_key="k-1")
        await send(idempotency_key="k-1")  # replayed
        primary.fail_next(1)  # retried
        await send()
        primary.faults.fail_next(2, _refused)  # retried, then failover; the breaker opens
        await send()
        await send()  # CircuitOpen on primary, failover
        backup.fail_next(1, hub.InvalidRequest("the vendor said 400", provider="backup"))
        with pytest.raises(hub.InvalidRequest):
            await send()
        backup.faults.fail_next(1, _bug)
        with pytest.raises(RuntimeError):
            await send()
    observed.spans = exporter.get_finished_spans()


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Observed:
    result = Observed()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("observability"))
        for name in [n for n in os.environ if n.startswith("HUB_")]:
            patch.delenv(name)
        anyio.run(_workload, result)
    return result


# -- metrics ----------------------------------------------------------------------------------


def _names(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_metrics_table_is_what_the_registry_holds(observed: Observed) -> None:
    families = observed.families()
    rows = {unquote(row["metric"]): row for row in table(OBSERVABILITY, "metric")}
    assert set(rows) == set(families)  # nothing undocumented, nothing missing
    for name, row in rows.items():
        kind, labels, _ = families[name]
        assert row["type"] == kind, name
        assert _names(row["labels"]) == labels, name


def test_label_values_are_the_documented_bounded_ones(observed: Observed) -> None:
    values = {
        label: row["values"]
        for row in table(OBSERVABILITY, "label")
        for label in _names(row["label"])
    }
    assert set(values) == {k for _, labels, _ in observed.families().values() for k in labels}
    assert observed.label_values("outcome") == _names(values["outcome"]) == {"success", "error"}
    error_names = {"none", "_OTHER", *errors.__all__}
    assert observed.label_values("error") <= error_names
    assert {"none", "_OTHER", "Unavailable", "CircuitOpen"} <= observed.label_values("error")
    assert observed.label_values("capability") == {"email"}
    assert observed.label_values("operation") == {"send"}
    providers = {"primary", "backup"}
    for label in ("provider", "from_provider", "to_provider"):
        assert observed.label_values(label) <= providers


# -- queries and the panel --------------------------------------------------------------------


def _check_query(expr: str, families: dict[str, tuple[str, set[str], set[str]]]) -> None:
    """Every metric a query reads exists, and every label it groups or filters by is one of
    those metrics' labels."""
    samples = {sample: labels for _, labels, names in families.values() for sample in names}
    used = set(re.findall(r"\bhub_[a-z_]+\b", expr))
    assert used, expr
    assert used <= set(samples), used - set(samples)
    labels = set().union(*(samples[name] for name in used))
    if any(name.endswith("_bucket") for name in used):
        labels.add("le")
    grouped = {
        label.strip() for group in re.findall(r"by \(([^)]*)\)", expr) for label in group.split(",")
    }
    matched = {
        m.group(1)
        for selector in re.findall(r"\{([^}]*)\}", expr)
        for m in re.finditer(r"(\w+)\s*(?:=~|!~|!=|=)", selector)
    }
    assert grouped | matched <= labels, (grouped | matched) - labels


@pytest.mark.parametrize("block", code_blocks(OBSERVABILITY, "promql"), ids=lambda b: b.id)
def test_promql_queries_read_real_metrics_and_labels(block: Block, observed: Observed) -> None:
    _check_query(block.code, observed.families())


def test_the_grafana_panel_is_json_with_real_queries(observed: Observed) -> None:
    [block] = code_blocks(OBSERVABILITY, "json")
    panel = json.loads(block.code)
    assert panel["type"] == "timeseries"
    assert panel["targets"]
    for target in panel["targets"]:
        _check_query(target["expr"], observed.families())


def test_the_queries_cover_what_the_doc_promises() -> None:
    queries = " ".join(b.code for b in code_blocks(OBSERVABILITY, "promql"))
    for metric in (
        'hub_operations_total{outcome="error"}',
        "hub_operation_duration_seconds_bucket",
        "hub_retries_total",
        "hub_failovers_total",
        "hub_circuit_state",
        "hub_idempotent_replays_total",
    ):
        assert metric in queries


# -- spans ------------------------------------------------------------------------------------


def _spans(observed: Observed, attempt: bool) -> list[ReadableSpan]:
    return [s for s in observed.spans if s.name.endswith(" attempt") == attempt]


@pytest.mark.parametrize(
    ("heading", "attempt", "kind"),
    [("— the call", False, SpanKind.INTERNAL), ("— one attempt", True, SpanKind.CLIENT)],
    ids=["call", "attempt"],
)
def test_the_span_tables_list_every_attribute_and_event(
    observed: Observed, heading: str, attempt: bool, kind: SpanKind
) -> None:
    spans = _spans(observed, attempt)
    assert spans
    assert {s.kind for s in spans} == {kind}
    assert {s.name for s in spans} == {"email.send attempt" if attempt else "email.send"}
    seen_attributes = {key for s in spans for key in (s.attributes or {})}
    documented = {unquote(r["attribute"]) for r in table(OBSERVABILITY, "attribute", under=heading)}
    assert documented == seen_attributes
    seen_events: dict[str, set[str]] = {}
    for span in spans:
        for event in span.events:
            seen_events.setdefault(event.name, set()).update(event.attributes or {})
    rows = table(OBSERVABILITY, "event", under=heading)
    assert {unquote(r["event"]): _names(r["attributes"]) for r in rows} == seen_events
