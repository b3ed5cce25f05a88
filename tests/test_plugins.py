"""Plugin discovery: built-ins through the hooks, real installed plugins, broken ones isolated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import hub
from hub.plugins import PLUGIN_API_VERSION, ProviderSpec, discover, import_string
from tests.helpers.wheels import build_wheel

CAPABILITIES = {"email", "sms", "payments", "storage", "search"}

GOOD_PLUGIN = """
from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

@hookimpl
def hub_providers():
    return [ProviderSpec("email", "throwaway", "hub_throwaway.provider:make",
                         features=frozenset({"attachments"}), env_vars={"api_key": "THROWAWAY_KEY"},
                         description="a plugin installed by a test")]
"""
BROKEN_PLUGIN = "raise RuntimeError('this plugin is broken on purpose')\n"
OLD_API_PLUGIN = "hub_plugin_api = 0\n"


def test_builtin_providers_cover_every_capability() -> None:
    registry = discover(include_installed=False)
    assert set(registry.capabilities) >= CAPABILITIES
    for capability in CAPABILITIES:
        assert {"local", "fake"} <= set(registry.provider_names(capability)), capability
    builtin = {p.name for p in registry.plugins if p.builtin}
    assert builtin == {"builtin", "local", "fake"}
    assert all(p.status == "ok" for p in registry.plugins), [p.error for p in registry.plugins]


def test_discovery_imports_no_provider_module() -> None:
    code = (
        "import sys, hub.plugins as p; p.discover(include_installed=False); "
        "print(sorted(m for m in sys.modules if m.startswith('hub.providers.') and "
        "m.count('.') > 2 or m.startswith('hub.capabilities.') and 'builtin' not in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group="hub.plugins")


def test_broken_and_incompatible_plugins_are_recorded_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hub_broken_mod.py").write_text(BROKEN_PLUGIN)
    (tmp_path / "hub_old_mod.py").write_text(OLD_API_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = discover(
        [_entry_point("broken", "hub_broken_mod"), _entry_point("oldapi", "hub_old_mod")],
        include_installed=False,
    )
    records = {p.name: p for p in registry.plugins}
    assert records["broken"].status == "error"
    assert "broken on purpose" in (records["broken"].error or "")
    assert records["oldapi"].status == "error"
    assert f"plugin API {PLUGIN_API_VERSION}" in (records["oldapi"].error or "")
    # The rest of the registry works, and only a hub configured to use it fails.
    assert "local" in registry.provider_names("email")
    with pytest.raises(hub.PluginError, match="failed to load"):
        registry.provider("email", "broken")


def test_invalid_specs_are_refused_with_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hub_badspec.py").write_text(
        "from hub.plugins import ProviderSpec, hookimpl\nhub_plugin_api = 1\n"
        "@hookimpl\ndef hub_providers():\n"
        "    return [ProviderSpec('fax', 'x', 'a:b'), ProviderSpec('email', 'Bad Name', 'a:b'),\n"
        "            ProviderSpec('email', 'nofactory', 'not a target'),\n"
        "            ProviderSpec('email', 'feat', 'a:b', features=frozenset({'teleport'}))]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = discover([_entry_point("badspec", "hub_badspec")], include_installed=False)
    record = next(p for p in registry.plugins if p.name == "badspec")
    assert record.status == "error"
    for fragment in ("unknown capability 'fax'", "lower-case", "module:attr", "teleport"):
        assert fragment in (record.error or "")
    assert record.providers == []


def test_unknown_provider_names_the_installed_ones() -> None:
    registry = discover(include_installed=False)
    with pytest.raises(hub.ConfigurationError) as info:
        registry.provider("email", "nope")
    assert "installed email providers: fake, local" in str(info.value)


def test_import_string_errors_are_plugin_errors() -> None:
    with pytest.raises(hub.PluginError, match="cannot import"):
        import_string("hub.nothing_here:factory")
    assert import_string("hub.plugins:ProviderSpec") is ProviderSpec


def test_installed_plugins_appear_in_hub_plugins(tmp_path: Path) -> None:
    """Real wheels, installed by an installer, found by `hub plugins --json` in a new process."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH; the README's commands install it")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    good = build_wheel(
        wheels,
        distribution="hub-throwaway",
        version="1.2.3",
        modules={
            "hub_throwaway/__init__.py": GOOD_PLUGIN,
            "hub_throwaway/provider.py": "def make(settings, context):\n    return object()\n",
        },
        entry_points={"throwaway": "hub_throwaway"},
    )
    broken = build_wheel(
        wheels,
        distribution="hub-brokenvendor",
        version="0.0.1",
        modules={"hub_brokenvendor/__init__.py": BROKEN_PLUGIN},
        entry_points={"brokenvendor": "hub_brokenvendor"},
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(good),
            str(broken),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    data = json.loads(result.stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["throwaway"]["status"] == "ok"
    assert plugins["throwaway"]["distribution"] == "hub-throwaway"
    assert plugins["throwaway"]["version"] == "1.2.3"
    assert plugins["brokenvendor"]["status"] == "error"
    assert plugins["brokenvendor"]["distribution"] == "hub-brokenvendor"
    assert "broken on purpose" in plugins["brokenvendor"]["error"]
    providers = {(p["capability"], p["name"]): p for p in data["providers"]}
    assert providers[("email", "throwaway")]["env_vars"] == {"api_key": "THROWAWAY_KEY"}
