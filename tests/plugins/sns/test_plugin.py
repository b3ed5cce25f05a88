"""The plugin as an operator meets it: discovery, settings from env, `hub sms send`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub import Hub
from hub.aws import AWS_ENV_VARS
from hub.errors import ConfigurationError
from hub.plugins import default_registry
from tests.plugins.sns._support import CREDENTIALS, REGION, moto_sms


def hub_command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m hub.cli ARGS`` with ``env`` instead of the machine's HUB_* and AWS_*."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_discovery_and_building_the_provider_import_no_aws_client() -> None:
    code = (
        "import sys, hub, hub.plugins; r = hub.plugins.discover(); "
        "h = hub.Hub.from_settings(env='staging', registry=r, sms={'provider': 'sns'}); "
        "p = h.sms.get_provider('sns'); "
        "print(type(p).__name__, sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('botocore', 'aiobotocore')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "SnsSmsProvider []"


def test_hub_plugins_lists_sns_with_its_features() -> None:
    result = hub_command("plugins", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (record,) = [p for p in data["plugins"] if p["name"] == "sns"]
    assert record["status"] == "ok", record["error"]
    assert record["distribution"] == "hub-sns"
    assert record["providers"] == [{"capability": "sms", "name": "sns"}]
    (spec,) = [p for p in data["providers"] if (p["capability"], p["name"]) == ("sms", "sns")]
    assert spec["features"] == ["alphanumeric_sender"]


def test_spec_declares_only_what_sns_does() -> None:
    spec = default_registry().provider("sms", "sns")
    assert spec.features == {"alphanumeric_sender"}  # no batch, media, status_callback
    assert spec.webhook is None
    assert spec.webhook_events == ()
    assert dict(spec.env_vars) == dict(AWS_ENV_VARS)


def test_settings_read_the_conventional_aws_variables(
    monkeypatch: pytest.MonkeyPatch, isolated_env: None
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env-not-real")
    monkeypatch.setenv("HUB_SMS__SNS__SMS_TYPE", "promotional")
    monkeypatch.setenv("HUB_SMS__SNS__MAX_PRICE", "0.25")
    hub = Hub.from_settings(env="staging", sms={"provider": "sns"})
    sns: Any = hub.sms.get_provider("sns")
    assert sns.settings.region == "eu-west-1"
    assert sns.settings.access_key_id == "AKIDFROMENV"
    assert sns.settings.sms_type == "Promotional"
    assert str(sns.settings.max_price) == "0.25"
    assert "secret-from-env-not-real" not in repr(sns.settings) + repr(sns)


def test_a_bad_sms_type_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, isolated_env: None
) -> None:
    monkeypatch.setenv("HUB_SMS__SNS__SMS_TYPE", "urgent")
    hub = Hub.from_settings(env="staging", sms={"provider": "sns"})
    with pytest.raises(ConfigurationError, match="sms_type"):
        _ = hub.sms


def test_cli_sends_through_sns_on_moto(moto_url: str, tmp_path: Path) -> None:
    result = hub_command(
        "sms", "send", "--provider", "sns", "--to", "+44 7700 900321",
        "--body", "Hello from the CLI", "--from", "AcmeShop",
        HUB_DATA_DIR=str(tmp_path / ".hub"),
        HUB_SMS__SNS__ENDPOINT_URL=moto_url,
        HUB_SMS__SNS__REGION=REGION,
        AWS_ACCESS_KEY_ID=CREDENTIALS["access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["secret_access_key"],
        NO_PROXY="127.0.0.1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    receipt = json.loads(result.stdout)
    assert receipt["provider"] == "sns"
    assert (receipt["to"], receipt["status"], receipt["segments"]) == ("+447700900321", "queued", 1)
    assert moto_sms()[receipt["provider_id"]] == ("+447700900321", "Hello from the CLI")
    assert CREDENTIALS["secret_access_key"] not in result.stdout + result.stderr
