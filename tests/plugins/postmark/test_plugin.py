"""The hub-postmark distribution is discovered through its entry point, cheaply."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from hub.cli import app


def test_postmark_appears_in_hub_plugins_json() -> None:
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.output)["plugins"]}
    postmark = plugins["postmark"]
    assert postmark["status"] == "ok", postmark["error"]
    assert postmark["distribution"] == "hub-postmark"
    assert postmark["builtin"] is False
    assert {"capability": "email", "name": "postmark"} in postmark["providers"]


def test_discovery_imports_neither_the_provider_nor_the_webhook_handler() -> None:
    code = (
        "import json, sys; from hub.plugins import discover; "
        "discover().provider('email', 'postmark'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hub_postmark'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == ["hub_postmark"]


def test_declared_features_are_truthful() -> None:
    from hub.plugins import discover

    spec = discover().provider("email", "postmark")
    assert "idempotency" not in spec.features  # Postmark has no idempotency key
    assert "scheduled_send" not in spec.features  # nor scheduling
    assert {"batch", "templates", "tags", "metadata", "inline_attachments"} <= spec.features
    assert spec.env_vars["server_token"] == "POSTMARK_SERVER_TOKEN"
    assert spec.webhook == "hub_postmark.webhooks:PostmarkWebhooks"


def test_the_documented_test_token_counts_as_a_test_key() -> None:
    from hub_postmark.settings import PostmarkSettings

    assert PostmarkSettings(server_token="POSTMARK_API_TEST").key_mode() == "test"
    assert PostmarkSettings(server_token="a-real-looking-token").key_mode() is None
    assert "a-real-looking-token" not in repr(PostmarkSettings(server_token="a-real-looking-token"))
