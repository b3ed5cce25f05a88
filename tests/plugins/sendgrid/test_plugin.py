"""The hub-sendgrid distribution is discovered through its entry point, cheaply."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from hub.cli import app


def test_sendgrid_appears_in_hub_plugins_json() -> None:
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.output)["plugins"]}
    sendgrid = plugins["sendgrid"]
    assert sendgrid["status"] == "ok", sendgrid["error"]
    assert sendgrid["distribution"] == "hub-sendgrid"
    assert sendgrid["builtin"] is False
    assert {"capability": "email", "name": "sendgrid"} in sendgrid["providers"]


def test_discovery_imports_neither_the_provider_nor_the_webhook_handler() -> None:
    code = (
        "import json, sys; from hub.plugins import discover; "
        "discover().provider('email', 'sendgrid'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hub_sendgrid'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == ["hub_sendgrid"]


def test_declared_features_are_truthful() -> None:
    from hub.plugins import discover

    spec = discover().provider("email", "sendgrid")
    assert "idempotency" not in spec.features  # SendGrid has no idempotency key
    assert {"batch", "scheduled_send", "templates", "tags", "metadata"} <= spec.features
    assert spec.env_vars["api_key"] == "SENDGRID_API_KEY"
    assert spec.webhook == "hub_sendgrid.webhooks:SendGridWebhooks"
