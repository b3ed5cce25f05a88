"""The throughput benchmark: raw httpx, raw aiohttp, the hub and the vendors' SDKs, one table.

::

    uv run python bench/run.py --setup-sdks   # once: the SDKs in a throwaway virtualenv
    uv run python bench/run.py --all          # everything; writes bench/results/latest.md

For each added latency (0 and 20 ms) a fresh ``fake_vendor.py`` process answers; for each
concurrency (1, 50, 200) each scenario runs in a fresh process (``_scenarios.py``) so memory
and warm-up never leak from one to the next. Ratios are against raw httpx and raw aiohttp of
the same run, so they mean something on a loaded machine where absolute numbers drift.
``--all`` also runs ``overhead.py``, ``startup.py`` and ``memory.py`` and puts their sections
and the issue's targets in the same Markdown file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import (
    BATCHES,
    BENCH_DIR,
    Result,
    machine_info,
    markdown_table,
    parse_result,
    start_vendor,
)
from _targets import Target, targets_section

__all__ = ["main"]

RESULTS = BENCH_DIR / "results"
SDK_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hub-bench/sdk-venv"
SDK_PACKAGES = ["sendgrid", "twilio", "stripe", "aiohttp", "httpx", "uvloop"]
#: name -> (what it is, the hub plugin it needs, whether it runs under the SDK virtualenv)
SCENARIOS: dict[str, tuple[str, str | None, bool]] = {
    "raw_httpx": ("raw httpx, one pooled AsyncClient", None, False),
    "raw_aiohttp": ("raw aiohttp, one ClientSession", None, False),
    "hub_email": ("hub.email.send → SendGrid plugin", "hub_sendgrid", False),
    "sdk_sendgrid": ("SendGrid SDK in a thread pool", None, True),
    "hub_sms": ("hub.sms.send → Twilio plugin", "hub_twilio", False),
    "sdk_twilio": ("Twilio SDK, async", None, True),
    "hub_payments": ("hub.payments.charge → Stripe plugin", "hub_stripe", False),
    "sdk_stripe": ("Stripe SDK, async", None, True),
}
#: hub scenario -> the SDK it must beat
RIVALS = {"hub_email": "sdk_sendgrid", "hub_sms": "sdk_twilio", "hub_payments": "sdk_stripe"}
#: Seconds a scenario at added latency should last at most (sets N where latency caps rps).
LATENCY_BUDGET = 5.0


def sdk_python(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    candidate = SDK_VENV / "bin" / "python"
    return str(candidate) if candidate.exists() else None


def setup_sdks() -> str:
    """Build the throwaway virtualenv with the vendors' SDKs (never the project's deps)."""
    SDK_VENV.parent.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    subprocess.run(["uv", "venv", "-q", "--python", python, str(SDK_VENV)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(SDK_VENV)}
    subprocess.run(["uv", "pip", "install", "-q", *SDK_PACKAGES], check=True, env=env)
    return str(SDK_VENV / "bin" / "python")


def calls_for(n: int, concurrency: int, latency_ms: float) -> int:
    """``n``, or fewer where the added latency alone would make the run long."""
    if latency_ms <= 0:
        return n
    return max(concurrency * 4, min(n, int(LATENCY_BUDGET * concurrency / (latency_ms / 1000))))


def run_scenario(name: str, python: str, url: str, args: list[str], timeout: float) -> Result:
    command = [python, str(BENCH_DIR / "_scenarios.py"), name, "--url", url, *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {timeout:g}s"}
    result = parse_result(done.stdout)
    if result is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed: {last[:200]}"}
    return result


def median_run(tries: list[Result]) -> Result:
    """The run with the median throughput (a whole run, so its figures belong together)."""
    done = sorted((t for t in tries if "rps" in t), key=lambda t: t["rps"])
    if not done:
        return tries[-1]
    return {**done[len(done) // 2], "runs": len(done)}


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.{digits}f}"


def ratio(a: Result | None, b: Result | None) -> str:
    if not a or not b or "rps" not in a or "rps" not in b or not b["rps"]:
        return "—"
    return f"{a['rps'] / b['rps']:.2f}x"


def results_table(rows: list[Result]) -> str:
    """One table: every scenario, with its ratios to raw httpx and raw aiohttp of its cell."""
    by_cell = {(r["latency_ms"], r["concurrency"], r["scenario"]): r for r in rows}
    table = []
    for r in rows:
        cell = (r["latency_ms"], r["concurrency"])
        if "skipped" in r:
            reason = r["skipped"]
            table.append(
                [r["scenario"], fmt(cell[0]), str(cell[1]), f"skipped: {reason}"] + [""] * 7
            )
            continue
        httpx = by_cell.get((*cell, "raw_httpx"))
        aiohttp = by_cell.get((*cell, "raw_aiohttp"))
        table.append(
            [
                r["scenario"],
                fmt(cell[0]),
                str(cell[1]),
                fmt(r["n"]),
                fmt(r["rps"]),
                fmt(r["p50_ms"], 2),
                fmt(r["p99_ms"], 2),
                fmt(r["cpu_us"]),
                fmt(r["rss_mb"]),
                ratio(r, httpx) if r["scenario"] not in BATCHES else "—",
                ratio(r, aiohttp) if r["scenario"] not in BATCHES else "—",
            ]
        )
    headers = [
        "scenario",
        "latency ms",
        "conc.",
        "calls",
        "calls/s",
        "p50 ms",
        "p99 ms",
        "CPU µs/call",
        "peak RSS MB",
        "x httpx",
        "x aiohttp",
    ]
    return markdown_table(headers, table)


def throughput_targets(rows: list[Result]) -> list[Target]:
    by_cell = {(r["latency_ms"], r["concurrency"], r["scenario"]): r for r in rows if "rps" in r}
    targets: list[Target] = []
    email = by_cell.get((0.0, 200, "hub_email"))
    for base, floor in (("raw_httpx", 5.0), ("raw_aiohttp", 0.5)):
        other = by_cell.get((0.0, 200, base))
        if email and other:
            value = email["rps"] / other["rps"]
            targets.append(
                Target(
                    f"C=200, 0 ms: hub.email.send vs {base}",
                    f"≥ {floor:g}x",
                    f"{value:.2f}x",
                    value >= floor,
                )
            )
    for hub_name, sdk in RIVALS.items():
        for (latency, concurrency, name), r in sorted(by_cell.items()):
            rival = by_cell.get((latency, concurrency, sdk))
            if name != hub_name or rival is None:
                continue
            value = r["rps"] / rival["rps"]
            targets.append(
                Target(
                    f"{hub_name} vs {sdk}, C={concurrency}, {latency:g} ms",
                    "≥ 1x",
                    f"{value:.2f}x",
                    value >= 1.0,
                )
            )
    for (latency, _, name), r in sorted(by_cell.items()):
        single = by_cell.get((latency, 200, "hub_email"))
        if name in BATCHES and single:
            value = r["rps"] / single["rps"]
            targets.append(
                Target(
                    f"{name} of {r['recipients']:,} recipients vs hub.email.send at C=200, "
                    f"{latency:g} ms",
                    "≥ 50x",
                    f"{value:.1f}x",
                    value >= 50,
                )
            )
    return targets


def run_other(script: str, extra: list[str], out: Path) -> Result | None:
    """Run overhead/startup/memory, which leave their results in ``out`` (JSON)."""
    path = BENCH_DIR / f"{script}.py"
    print(f"\n== {script}.py", flush=True)
    out.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, str(path), *extra, "--json", str(out)], check=False)
    if done.returncode != 0 or not out.exists():
        print(f"{script}.py failed (exit {done.returncode})", file=sys.stderr)
        return None
    data: Result = json.loads(out.read_text())
    return data


def write_markdown(
    path: Path, info: Result, config: Result, rows: list[Result], others: dict[str, Result]
) -> None:
    from _targets import other_targets

    sections = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (see `bench/README.md`); ratios compare runs of the same "
        "invocation, on the same machine, at the same time.",
        "",
        markdown_table(["", ""], [[k, str(v)] for k, v in {**info, **config}.items()]),
        "",
        "## Throughput against raw clients and the vendors' SDKs",
        "",
        results_table(rows),
    ]
    for name in ("overhead", "startup", "memory"):
        data = others.get(name)
        if data:
            sections += ["", data["markdown"]]
    targets = throughput_targets(rows) + other_targets(others)
    sections += ["", targets_section(targets), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sections))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the hub against raw clients and SDKs.")
    parser.add_argument("--n", type=int, default=5000, help="calls per scenario (default 5000)")
    parser.add_argument("--concurrency", default="1,50,200", help="comma-separated")
    parser.add_argument(
        "--latency-ms", default="0,20", help="added vendor latencies, comma-separated"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--recipients", type=int, default=10_000, help="send_many size (0: skip)")
    parser.add_argument("--rounds", type=int, default=3, help="send_many calls timed")
    parser.add_argument("--sdk-python", help=f"interpreter with the SDKs (default {SDK_VENV})")
    parser.add_argument("--setup-sdks", action="store_true", help="build the SDK venv and exit")
    parser.add_argument("--all", action="store_true", help="also overhead, startup and memory")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: does it work at all")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per scenario")
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell; the median counts")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    if args.setup_sdks:
        print(f"SDKs installed: {setup_sdks()}")
        return
    if args.quick:
        args.n, args.concurrency, args.latency_ms = 40, "1,4", "0"
        args.recipients, args.rounds = 100, 1
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    latencies = [float(x) for x in args.latency_ms.split(",") if x]
    names = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; pick from {', '.join(SCENARIOS)}")
    sdk = sdk_python(args.sdk_python)
    # The vendor runs on uvloop from the SDK venv when there is one: it must not be the bottleneck.
    vendor_python = sdk or sys.executable

    skipped: dict[str, str] = {}
    for name in names:
        _, plugin, needs_sdk = SCENARIOS[name]
        if plugin and importlib.util.find_spec(plugin) is None:
            skipped[name] = f"plugin {plugin} is not installed"
        elif needs_sdk and sdk is None:
            skipped[name] = "no SDK virtualenv: run `python bench/run.py --setup-sdks` first"
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}")

    info = machine_info()
    started = time.perf_counter()
    rows: list[Result] = []
    for latency in latencies:
        with start_vendor(latency, python=vendor_python) as url:
            for concurrency in concurrencies:
                for name in names:
                    row: Result = {
                        "scenario": name,
                        "latency_ms": latency,
                        "concurrency": concurrency,
                    }
                    if name in skipped:
                        rows.append({**row, "skipped": skipped[name]})
                        continue
                    python = sdk if SCENARIOS[name][2] and sdk else sys.executable
                    n = calls_for(args.n, concurrency, latency)
                    extra = ["--n", str(n), "--concurrency", str(concurrency)]
                    tries = [
                        run_scenario(name, python, url, extra, args.timeout)
                        for _ in range(args.repeat)
                    ]
                    result = median_run(tries)
                    rows.append(
                        {**row, **result, "latency_ms": latency, "concurrency": concurrency}
                    )
                    _progress(rows[-1])
            if args.recipients and "hub_email" in names and "hub_email" not in skipped:
                extra = ["--n", str(args.recipients), "--rounds", str(args.rounds)]
                for batch in BATCHES:
                    result = run_scenario(batch, sys.executable, url, extra, args.timeout)
                    row = {"scenario": batch, "recipients": args.recipients}
                    rows.append({**row, **result, "latency_ms": latency, "concurrency": 1})
                    _progress(rows[-1])
    elapsed = time.perf_counter() - started

    others: dict[str, Result] = {}
    if args.all:
        quick = ["--quick"] if args.quick else []
        for script in ("overhead", "startup", "memory"):
            data = run_other(script, quick, args.out.with_name(f"{script}.json"))
            if data:
                others[script] = data

    config = {
        "calls per scenario": args.n,
        "runs per cell (median kept)": args.repeat,
        "vendor interpreter": "SDK venv (uvloop)" if sdk else "project (asyncio)",
        "throughput run took": f"{elapsed:.0f} s",
    }
    print()
    print(results_table(rows))
    targets = throughput_targets(rows)
    if targets:
        print()
        print(targets_section(targets))
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        raw = {"info": info, "rows": rows}
        (RESULTS / f"run-{stamp}.json").write_text(json.dumps(raw, indent=1))
    if not args.no_write:
        write_markdown(args.out, info, config, rows, others)
        print(f"\nwrote {args.out}")


def _progress(row: Result) -> None:
    what = f"{row['scenario']:<13} latency {row['latency_ms']:>4g} ms  C={row['concurrency']:<4}"
    if "skipped" in row:
        print(f"{what} skipped: {row['skipped']}", flush=True)
    else:
        extra = f"  [{row['transport']}]" if row.get("transport") else ""
        print(
            f"{what} {row['rps']:>9,.0f}/s  p50 {row['p50_ms']:7.2f} ms"
            f"  p99 {row['p99_ms']:7.2f} ms  CPU {row['cpu_us']:6.0f} µs"
            f"  RSS {row['rss_mb']:4.0f} MB{extra}",
            flush=True,
        )


if __name__ == "__main__":
    main()
