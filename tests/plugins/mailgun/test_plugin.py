"""The Mailgun plugin is found by entry point, light to discover, and listed by `hub plugins`."""

from __future__ import annotations

import json
import subprocess
import sys


def test_discovery_imports_only_the_hooks() -> None:
    code = (
        "import sys, hub.plugins as p; r = p.discover(); "
        "print(('email', 'mailgun') in r.providers, "
        "sorted(m for m in sys.modules if m.startswith('hub_mailgun.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True []"


def test_hub_plugins_lists_mailgun() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    plugin = next(p for p in data["plugins"] if p["name"] == "mailgun")
    assert plugin["status"] == "ok", plugin["error"]
    assert plugin["distribution"] == "hub-mailgun"
    assert plugin["providers"] == [{"capability": "email", "name": "mailgun"}]
    spec = next(p for p in data["providers"] if p["name"] == "mailgun")
    assert "batch" in spec["features"]
    assert "idempotency" not in spec["features"]  # Mailgun has no idempotency keys
    assert spec["env_vars"] == {
        "api_key": "MAILGUN_API_KEY",
        "domain": "MAILGUN_DOMAIN",
        "webhook_signing_key": "MAILGUN_WEBHOOK_SIGNING_KEY",
    }
    assert "email.bounced" in spec["webhook_events"]
    assert {f["name"] for f in spec["settings"]} >= {"api_key", "domain", "region"}
