"""The plugin as an operator meets it: discovery, settings from env, the `hub` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hub_ses import _ENV_VARS

from hub import Hub
from hub.aws import AWS_ENV_VARS
from hub.errors import ConfigurationError
from hub.plugins import default_registry
from tests.plugins.ses._support import CREDENTIALS, REGION, moto_sent

ROOT = Path(__file__).resolve().parents[3]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any hub or AWS configuration of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "AWS_"))}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


def test_discovery_imports_no_aws_client(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from hub import Hub
        from hub.plugins import discover
        registry = discover()
        spec = registry.provider("email", "ses")
        hub = Hub.from_settings(env="staging", registry=registry,
                                email={"provider": "ses", "ses": {"region": "eu-west-1"}})
        provider = hub.email.get_provider("ses")   # built, but nothing sent yet
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"aiobotocore", "botocore"})
        print(spec.webhook, type(provider).__name__, loaded)
        """
    )
    result = run(["-c", script], tmp_path, clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["hub_ses.webhooks:SesWebhookHandler", "SesEmailProvider", "[]"]


def test_plugin_is_listed_by_hub_plugins(tmp_path: Path) -> None:
    result = run(["-m", "hub.cli", "plugins", "--json"], tmp_path, clean_env())
    assert result.returncode == 0, result.stderr
    (record,) = [p for p in json.loads(result.stdout)["plugins"] if p["name"] == "ses"]
    assert record["status"] == "ok", record["error"]
    assert record["distribution"] == "hub-ses"
    assert record["providers"] == [{"capability": "email", "name": "ses"}]


def test_spec_declares_features_events_and_aws_variables() -> None:
    spec = default_registry().provider("email", "ses")
    assert "batch" in spec.features
    assert "scheduled_send" not in spec.features
    assert "idempotency" not in spec.features  # SES has no keys: the hub remembers them
    assert {"email.delivered", "email.bounced", "email.complained"} <= set(spec.webhook_events)
    assert dict(spec.env_vars) == dict(_ENV_VARS) == dict(AWS_ENV_VARS)


def test_settings_read_the_conventional_aws_variables(
    monkeypatch: pytest.MonkeyPatch, isolated_env: None
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env-not-real")
    monkeypatch.setenv("HUB_EMAIL__SES__CONFIGURATION_SET", "events")
    hub = Hub.from_settings(env="staging", email={"provider": "ses"})
    ses: Any = hub.email.get_provider("ses")
    assert ses.settings.region == "eu-central-1"
    assert ses.settings.access_key_id == "AKIDFROMENV"
    assert ses.settings.configuration_set == "events"
    assert "secret-from-env-not-real" not in repr(ses.settings) + repr(ses)


def test_half_a_key_pair_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, isolated_env: None
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDONLY")
    hub = Hub.from_settings(env="staging", email={"provider": "ses"})
    with pytest.raises(ConfigurationError, match="secret_access_key"):
        _ = hub.email


def test_cli_sends_through_ses_on_moto(moto_url: str, tmp_path: Path) -> None:
    env = clean_env(
        HUB_EMAIL__SES__ENDPOINT_URL=moto_url,
        HUB_EMAIL__SES__REGION=REGION,
        AWS_ACCESS_KEY_ID=CREDENTIALS["access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["secret_access_key"],
    )
    args = ["-m", "hub.cli", "email", "send", "--provider", "ses", "--to", "ada@example.com"]
    args += ["--from", "Shop <shop@example.com>", "-s", "Sent from the CLI", "--text", "Hello"]
    result = run(args, tmp_path, env)
    assert result.returncode == 0, result.stderr
    receipt = json.loads(result.stdout)
    assert receipt["provider"] == "ses"
    assert receipt["recipients"] == [
        {"email": "ada@example.com", "status": "queued", "reason": None}
    ]
    sent = moto_sent(receipt["provider_id"])
    assert sent.subject == "Sent from the CLI"
    assert sent.source == "Shop <shop@example.com>"
