"""The benchmark scripts run end to end with tiny sizes: they work, whatever the figures.

No timing is asserted here, ever: on a shared machine that would only make the suite flaky.
Each script runs as a user runs it (a fresh interpreter, ``python bench/<script>.py``).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run(script: str, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_fake_vendor_answers_like_the_vendors() -> None:
    spec = importlib.util.spec_from_file_location("fake_vendor", BENCH / "fake_vendor.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    answer = module.answer
    sendgrid = answer(b"POST", b"/v3/mail/send")
    assert sendgrid.startswith(b"HTTP/1.1 202 ")
    assert b"X-Message-Id: " in sendgrid
    twilio = answer(b"POST", b"/2010-04-01/Accounts/AC123/Messages.json")
    assert twilio.startswith(b"HTTP/1.1 201 ")
    assert json.loads(twilio.split(b"\r\n\r\n", 1)[1])["sid"].startswith("SM")
    stripe = answer(b"POST", b"/v1/payment_intents")
    assert json.loads(stripe.split(b"\r\n\r\n", 1)[1])["status"] == "succeeded"
    assert answer(b"GET", b"/nowhere").startswith(b"HTTP/1.1 404 ")


def test_run_quick_prints_one_table_with_the_hub_and_raw_clients(tmp_path: Path) -> None:
    out = tmp_path / "latest.md"
    stdout = run(
        "run.py",
        "--quick",
        "--scenarios",
        "raw_httpx,raw_aiohttp,hub_email,hub_sms,hub_payments",
        "--out",
        str(out),
    )
    table = out.read_text()
    for scenario in ("raw_httpx", "raw_aiohttp", "hub_email", "send_many"):
        assert f"| {scenario} |" in table, stdout
    assert "x aiohttp" in table
    assert "Targets" in table
    assert "skipped: failed" not in table, stdout
    assert "[aiohttp]" in stdout, stdout  # the hub took its fast transport


def test_overhead_quick_reports_every_stage(tmp_path: Path) -> None:
    stdout = run("overhead.py", "--quick", "--json", str(tmp_path / "overhead.json"))
    assert "whole pipeline, metrics only" in stdout
    assert "OTel SDK" in stdout
    assert "idempotency guard" in stdout


def test_startup_quick_times_imports_and_lists_vendor_modules(tmp_path: Path) -> None:
    stdout = run("startup.py", "--quick", "--json", str(tmp_path / "startup.json"))
    assert "import hub" in stdout
    assert "hub --help" in stdout
    assert "Vendor client modules imported by discovery:" in stdout


def test_memory_quick_streams_through_the_local_provider(tmp_path: Path) -> None:
    json_out = str(tmp_path / "memory.json")
    stdout = run("memory.py", "--quick", "--providers", "local", "--json", json_out)
    assert "| local | 8 MiB |" in stdout
