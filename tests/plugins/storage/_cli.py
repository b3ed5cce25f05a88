"""Running the ``hub`` command in a child process, as an operator would, for each storage plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
_MACHINE_CONFIG = ("HUB_", "AWS_", "AZURE_", "GOOGLE_")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the hub or cloud configuration of the machine running tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_MACHINE_CONFIG)}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


def hub_command(
    args: list[str], cwd: Path, env: dict[str, str], *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def listed_plugin(cwd: Path, name: str) -> dict[str, Any]:
    """The plugin record `hub plugins --json` shows for ``name``."""
    result = hub_command(["plugins", "--json"], cwd, clean_env())
    assert result.returncode == 0, result.stderr
    (record,) = [p for p in json.loads(result.stdout)["plugins"] if p["name"] == name]
    return dict(record)


def storage_round_trip(provider: str, cwd: Path, env: dict[str, str]) -> str:
    """`hub storage put|get|ls|url|rm` on one provider; returns the URL `url --method PUT` printed.

    Progress bars go to stderr; only exit codes and results are checked here.
    """
    source = cwd / "report.csv"
    source.write_bytes(b"id,total\n1,19.99\n" * 1000)
    key = "cli/report.csv"
    put = hub_command(
        ["storage", "put", key, str(source), "--meta", "origin=cli", "-p", provider], cwd, env
    )
    assert put.returncode == 0, put.stderr
    receipt = json.loads(put.stdout)
    assert receipt["provider"] == provider
    assert receipt["size"] == source.stat().st_size
    assert receipt["content_type"] == "text/csv"
    assert receipt["metadata"] == {"origin": "cli"}

    target = cwd / "back.csv"
    get = hub_command(["storage", "get", key, "-o", str(target), "-p", provider], cwd, env)
    assert get.returncode == 0, get.stderr
    assert target.read_bytes() == source.read_bytes()

    ls = hub_command(["storage", "ls", "cli/", "-p", provider], cwd, env)
    assert ls.returncode == 0, ls.stderr
    assert key in ls.stdout

    url = hub_command(
        ["storage", "url", key, "--method", "PUT", "--expires-in", "600", "-p", provider],
        cwd,
        env,
    )
    assert url.returncode == 0, url.stderr

    rm = hub_command(["storage", "rm", key, "-p", provider], cwd, env)
    assert rm.returncode == 0, rm.stderr
    gone = hub_command(["storage", "get", key, "-o", str(target), "-p", provider], cwd, env)
    assert gone.returncode != 0, "a deleted object cannot be fetched"
    return url.stdout.strip()
