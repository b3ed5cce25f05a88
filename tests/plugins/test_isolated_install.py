"""Each plugin installs on its own next to the core and shows up in ``hub plugins`` (issue 7).

Per plugin directory: a fresh virtualenv (``uv venv``), the core and that one plugin installed
into it (``uv pip install``, resolving third-party dependencies from the package index through
uv's shared cache), then ``python -m hub.cli plugins --json`` run in it. The plugin must load
("ok") with every provider it has in the development environment, and no other vendor plugin
may be there: a plugin that silently needs another one fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hub.cli._plugins import registry_as_dict
from hub.plugins import default_registry

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
INSTALL_TIMEOUT = 600


def _run(args: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command outside this project's environment: no venv, PYTHONPATH or HUB_* leak in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not key.startswith("HUB_")
    }
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )


def _entry_points(plugin: Path) -> tuple[str, set[str]]:
    """The plugin's distribution name and the ``hub.plugins`` entry points it declares."""
    project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    return project["name"], set(project.get("entry-points", {}).get("hub.plugins", {}))


def _providers_here(name: str) -> list[dict[str, str]] | None:
    """The plugin's providers in the development environment (None where it isn't loaded)."""
    for found in registry_as_dict(default_registry())["plugins"]:
        if found["name"] == name and found["status"] == "ok":
            providers: list[dict[str, str]] = found["providers"]
            return providers
    return None


@pytest.mark.slow
@pytest.mark.parametrize("plugin", PLUGINS, ids=[p.name for p in PLUGINS])
def test_the_plugin_installs_alone_and_is_listed(plugin: Path, tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH: install it (https://docs.astral.sh/uv/) to run this test")
    distribution, names = _entry_points(plugin)
    assert names, f"{plugin.name}/pyproject.toml declares no [project.entry-points.'hub.plugins']"

    venv = tmp_path / f"venv-{plugin.name}"
    made = _run([uv, "venv", venv, "--python", sys.executable], tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run([uv, "pip", "install", "--python", python, ROOT, plugin], tmp_path)
    assert installed.returncode == 0, f"{plugin.name} did not install alone:\n{installed.stderr}"

    # Run from tmp_path: from the repository root, `-m` would import the checkout's `hub`.
    listed = _run([python, "-m", "hub.cli", "plugins", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    plugins: list[dict[str, Any]] = json.loads(listed.stdout)["plugins"]
    vendors = {p["name"]: p for p in plugins if not p["builtin"]}

    assert set(vendors) == names, f"expected only {sorted(names)}, found {sorted(vendors)}"
    for name, found in vendors.items():
        assert found["distribution"] == distribution
        assert found["status"] == "ok", found["error"]
        assert found["providers"], f"{name} loaded but registers no provider"
        expected = _providers_here(name)
        if expected is not None:
            assert found["providers"] == expected
