"""The code standards as tests: ruff clean, ruff-formatted, mypy --strict over core and plugins."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: uv sync installs the dev group")
    return found


def test_ruff_check_is_clean() -> None:
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    result = _run(_tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_over_the_core_and_every_plugin() -> None:
    packages = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/*/hub_*") if p.is_dir())
    result = _run(_tool("mypy"), "hub", *packages)
    assert result.returncode == 0, result.stdout + result.stderr
