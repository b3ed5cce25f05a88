"""Start-up costs, each in fresh processes: ``import hub``, plugin discovery, ``hub --help``.

::

    uv run python bench/startup.py            # writes bench/results/startup.json

Figures are medians of ``--runs`` processes, measured with bytecode cached as after an install
(``PYTHONDONTWRITEBYTECODE`` is dropped and ``__pycache__`` goes to a private
``PYTHONPYCACHEPREFIX``; one unmeasured run fills it). ``import hub`` and discovery are timed
inside the process (the interpreter's own start-up is reported apart); ``hub --help`` is the
whole command as a shell runs it. The discovery run also lists every vendor client module
that discovery imported: there must be none (DESIGN.md: plugins are light to import).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH_DIR, Result, machine_info, markdown_table

__all__ = ["VENDOR_MODULES", "main"]

#: Top-level modules of vendor clients and heavy backends no discovery may import.
VENDOR_MODULES = frozenset(
    {
        "aiobotocore",
        "aioboto3",
        "boto3",
        "botocore",
        "asyncpg",
        "psycopg",
        "aiosmtplib",
        "redis",
        "stripe",
        "twilio",
        "sendgrid",
        "vonage",
        "algoliasearch",
        "meilisearch",
        "meilisearch_python_sdk",
        "opensearchpy",
        "elasticsearch",
        "typesense",
        "azure",
        "google",
        "gcloud",
        "aiohttp",
        "httpx_aiohttp",
    }
)

_IMPORT = """
import time
t = time.perf_counter()
import hub
print(time.perf_counter() - t)
"""

_DISCOVER = """
import json, sys, time
import hub
from hub.plugins import discover
before = set(sys.modules)
t = time.perf_counter()
registry = discover()
took = time.perf_counter() - t
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps({"seconds": took, "new": new,
                  "plugins": len(getattr(registry, "plugins", []))}))
"""


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, env=env, check=True)
    return time.perf_counter() - started


def hub_command() -> list[str]:
    """The ``hub`` console script next to this interpreter, else ``python -m hub.cli``."""
    script = Path(sys.executable).with_name("hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub.cli"]


def measure(runs: int) -> Result:
    cache = Path(tempfile.mkdtemp(prefix="hub-bench-pycache-"))
    env = _env(cache)
    try:
        command = hub_command()
        _python(_DISCOVER, env)  # fills the bytecode cache of everything measured below
        _wall([*command, "--help"], env)
        bare = statistics.median(_wall([sys.executable, "-c", "pass"], env) for _ in range(runs))
        imports = statistics.median(float(_python(_IMPORT, env)) for _ in range(runs))
        found = [json.loads(_python(_DISCOVER, env)) for _ in range(runs)]
        discovery = statistics.median(f["seconds"] for f in found)
        help_wall = statistics.median(_wall([*command, "--help"], env) for _ in range(runs))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    new = found[-1]["new"]
    return {
        "runs": runs,
        "interpreter_ms": bare * 1000,
        "import_hub_ms": imports * 1000,
        "discovery_ms": discovery * 1000,
        "help_ms": help_wall * 1000,
        "plugins": found[-1]["plugins"],
        "discovery_imports": new,
        "vendor_modules": sorted(set(new) & VENDOR_MODULES),
    }


def section(data: Result) -> str:
    rows = [
        ["python -c pass (the interpreter alone)", f"{data['interpreter_ms']:.0f}"],
        ["import hub (in process)", f"{data['import_hub_ms']:.0f}"],
        [f"discovery of {data['plugins']} plugins (in process)", f"{data['discovery_ms']:.0f}"],
        ["hub --help (whole command)", f"{data['help_ms']:.0f}"],
    ]
    vendors = ", ".join(data["vendor_modules"]) or "none"
    third_party = [m for m in data["discovery_imports"] if not m.startswith(("_", "hub"))]
    return (
        "## Start-up (`bench/startup.py`)\n\n"
        f"Median of {data['runs']} fresh processes each, bytecode cached.\n\n"
        + markdown_table(["what", "ms"], rows)
        + f"\n\nVendor client modules imported by discovery: **{vendors}**. "
        + f"Modules discovery added: {', '.join(third_party)}.\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start-up times of the hub.")
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per figure")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: does it work at all")
    parser.add_argument(
        "--json", type=Path, default=BENCH_DIR / "results" / "startup.json", help="where results go"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    data = measure(args.runs)
    markdown = section(data)
    print(markdown)
    if data["vendor_modules"]:
        print(f"discovery imported vendor modules: {', '.join(data['vendor_modules'])}")
    out = {"info": machine_info(), **data, "markdown": markdown}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
