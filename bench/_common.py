"""What every benchmark script shares: the load driver, statistics, machine info, the vendor.

Stdlib only: the vendor-SDK scenarios import it from a throwaway virtualenv that has the SDKs
and nothing of the hub. Scripts run as files (``python bench/run.py``), so siblings are
imported as top-level modules (``from _common import drive``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "BATCHES",
    "BENCH_DIR",
    "RESULT_PREFIX",
    "ROOT",
    "Result",
    "drive",
    "emit",
    "machine_info",
    "markdown_table",
    "parse_result",
    "peak_rss_mb",
    "percentile",
    "start_vendor",
]

#: Scenarios of many recipients in one call (``--n`` recipients, ``--rounds`` calls).
BATCHES = ("send_many", "send_bulk")

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
#: A scenario process prints exactly one line starting with this, then its JSON.
RESULT_PREFIX = "RESULT "

Result = dict[str, Any]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of an already sorted list, nearest rank."""
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _run_calls(
    call: Callable[[], Awaitable[object]],
    count: int,
    concurrency: int,
    deadline: float,
    latencies: list[float] | None,
) -> int:
    """``count`` calls over ``concurrency`` workers; stops issuing new ones after ``deadline``."""
    remaining = count
    done = 0
    clock = time.perf_counter

    async def worker() -> None:
        nonlocal remaining, done
        while remaining > 0 and clock() < deadline:
            remaining -= 1
            started = clock()
            await call()
            if latencies is not None:
                latencies.append(clock() - started)
            done += 1

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return done


async def drive(
    call: Callable[[], Awaitable[object]],
    *,
    n: int,
    concurrency: int,
    warmup: int | None = None,
    max_seconds: float = 120.0,
) -> Result:
    """Warm up, then make ``n`` calls ``concurrency`` at a time; throughput, latency and CPU.

    Warm-up calls (default ``max(2 x concurrency, 20)``) open the pool's connections and fill
    caches before the clock starts. ``cpu_us`` is the process's CPU time (every thread, so
    thread pools count) per call.
    """
    if warmup is None:
        warmup = max(2 * concurrency, 20)
    await _run_calls(call, warmup, concurrency, time.perf_counter() + max_seconds, None)
    latencies: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    done = await _run_calls(call, n, concurrency, wall0 + max_seconds, latencies)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    latencies.sort()
    return {
        "n": done,
        "concurrency": concurrency,
        "seconds": wall,
        "rps": done / wall if wall > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "cpu_us": cpu / done * 1e6 if done else float("nan"),
        "rss_mb": peak_rss_mb(),
        "truncated": done < n,
    }


def emit(result: Result) -> None:
    """Hand a scenario's result to ``run.py`` (one line on stdout)."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def parse_result(stdout: str) -> Result | None:
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            parsed: Result = json.loads(line[len(RESULT_PREFIX) :])
            return parsed
    return None


@contextlib.contextmanager
def start_vendor(latency_ms: float = 0.0, *, python: str | None = None) -> Iterator[str]:
    """Run ``fake_vendor.py`` in its own process; yields its base URL, stops it after."""
    command = [python or sys.executable, str(BENCH_DIR / "fake_vendor.py"), "--port", "0"]
    command += ["--latency-ms", str(latency_ms)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the fake vendor did not start (said {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return None


def _git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or None
    return None


def machine_info() -> Result:
    """What a reader needs to compare two result files: machine, load, versions, date."""
    memory = _memory_gb()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory, 1) if memory is not None else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "commit": _git_commit(),
    }


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""
    align = ["---:" if _numeric(rows, i) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _numeric(rows: list[list[str]], column: int) -> bool:
    values = [row[column] for row in rows if row[column] not in ("", "—")]
    return bool(values) and all(
        v.replace(".", "", 1).replace("x", "").replace(",", "").strip().isdigit() for v in values
    )
