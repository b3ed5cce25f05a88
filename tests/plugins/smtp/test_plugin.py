"""The SMTP plugin is found by entry point, light to discover, and listed by `hub plugins`."""

from __future__ import annotations

import json
import subprocess
import sys


def test_discovery_imports_no_smtp_client() -> None:
    code = (
        "import sys, hub.plugins as p; r = p.discover(); "
        "print(('email', 'smtp') in r.providers, "
        "sorted(m for m in sys.modules if m.startswith(('aiosmtplib', 'hub_smtp.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True []"


def test_hub_plugins_lists_smtp() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    plugin = next(p for p in data["plugins"] if p["name"] == "smtp")
    assert plugin["status"] == "ok", plugin["error"]
    assert plugin["distribution"] == "hub-smtp"
    assert plugin["providers"] == [{"capability": "email", "name": "smtp"}]
    spec = next(p for p in data["providers"] if p["name"] == "smtp")
    assert spec["features"] == [
        "attachments",
        "custom_headers",
        "inline_attachments",
        "metadata",
        "tags",
    ]
    assert spec["env_vars"]["password"] == "SMTP_PASSWORD"
    assert spec["webhook_events"] == []
    fields = {f["name"] for f in spec["settings"]}
    assert {"host", "port", "security", "username", "password", "timeout"} <= fields
