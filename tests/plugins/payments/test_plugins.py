"""hub-stripe and hub-paypal as installed plugins: listed by `hub plugins`, light to discover."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = {
    "stripe": (
        "hub-stripe",
        [
            "authorize_only",
            "customers",
            "idempotency",
            "partial_capture",
            "partial_refund",
            "three_d_secure",
        ],
        {"secret_key": "STRIPE_SECRET_KEY", "webhook_secrets": "STRIPE_WEBHOOK_SECRET"},
    ),
    "paypal": (
        "hub-paypal",
        ["authorize_only", "idempotency", "partial_capture", "partial_refund"],
        {
            "client_id": "PAYPAL_CLIENT_ID",
            "client_secret": "PAYPAL_CLIENT_SECRET",
            "webhook_id": "PAYPAL_WEBHOOK_ID",
        },
    ),
}


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path_factory.mktemp("cwd"),
        check=True,
        timeout=60,
    )
    listing: dict[str, object] = json.loads(result.stdout)
    return listing


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_the_plugin_appears_in_hub_plugins(listed: dict[str, object], name: str) -> None:
    distribution, features, env_vars = PLUGINS[name]
    plugins = {p["name"]: p for p in listed["plugins"]}  # type: ignore[attr-defined]
    assert plugins[name]["status"] == "ok", plugins[name]["error"]
    assert plugins[name]["distribution"] == distribution
    assert plugins[name]["providers"] == [{"capability": "payments", "name": name}]
    providers = {(p["capability"], p["name"]): p for p in listed["providers"]}  # type: ignore[attr-defined]
    provider = providers[("payments", name)]
    assert provider["features"] == features
    assert provider["env_vars"] == env_vars


def test_discovery_imports_no_vendor_module(tmp_path: Path) -> None:
    code = (
        "import sys, hub.plugins as p; r = p.discover(); "
        "assert ('payments', 'stripe') in r.providers and ('payments', 'paypal') in r.providers; "
        "print(sorted(m for m in sys.modules if m.startswith(('hub_stripe.', 'hub_paypal.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]", out.stdout
