"""The issue's targets (bench/README.md) against measured figures: reported, never asserted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from _common import markdown_table

__all__ = ["Target", "other_targets", "targets_section"]

#: Whole-pipeline CPU per call on an instant provider, µs.
OVERHEAD_METRICS_US = 20.0
OVERHEAD_OTEL_US = 35.0
IMPORT_MS = 100.0
HELP_MS = 200.0
STREAM_RSS_MB = 100.0


@dataclass(frozen=True)
class Target:
    what: str
    goal: str
    measured: str
    met: bool


def targets_section(targets: list[Target]) -> str:
    rows = [[t.what, t.goal, t.measured, "met" if t.met else "**missed**"] for t in targets]
    met = sum(t.met for t in targets)
    head = f"## Targets: {met} of {len(targets)} met"
    return head + "\n\n" + markdown_table(["target", "goal", "measured", ""], rows)


def other_targets(others: dict[str, dict[str, Any]]) -> list[Target]:
    """Targets of overhead.py, startup.py and memory.py, from their JSON results."""
    out: list[Target] = []
    overhead = others.get("overhead")
    if overhead:
        for key, goal, what in (
            ("whole_metrics_us", OVERHEAD_METRICS_US, "metrics only"),
            ("whole_otel_us", OVERHEAD_OTEL_US, "OpenTelemetry SDK + BatchSpanProcessor"),
        ):
            value = overhead.get(key)
            if value is not None:
                out.append(
                    Target(
                        f"whole pipeline on an instant provider, {what}",
                        f"≤ {goal:g} µs/call",
                        f"{value:.1f} µs",
                        value <= goal,
                    )
                )
    startup = others.get("startup")
    if startup:
        for key, goal, what in (
            ("import_hub_ms", IMPORT_MS, "`import hub`"),
            ("help_ms", HELP_MS, "`hub --help`"),
        ):
            value = startup.get(key)
            if value is not None:
                out.append(Target(what, f"< {goal:g} ms", f"{value:.0f} ms", value < goal))
        vendors = startup.get("vendor_modules")
        if vendors is not None:
            out.append(
                Target(
                    "discovery imports no vendor client module",
                    "none",
                    ", ".join(vendors) or "none",
                    not vendors,
                )
            )
    memory = others.get("memory")
    if memory:
        for run in memory.get("runs", []):
            if "peak_rss_mb" in run:
                value = run["peak_rss_mb"]
                out.append(
                    Target(
                        f"{run['size']} through hub.storage put + stream, {run['provider']}",
                        f"< {STREAM_RSS_MB:g} MB peak RSS",
                        f"{value:.0f} MB",
                        value < STREAM_RSS_MB,
                    )
                )
    return out
