"""The plugin as an operator meets it: discovery, settings from env, the `hub` command."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hub import Hub
from hub.capabilities.storage import FEATURES
from hub.plugins import default_registry
from tests.plugins.s3.conftest import BUCKET, CREDENTIALS, REGION
from tests.plugins.storage._cli import clean_env, listed_plugin, storage_round_trip
from tests.plugins.storage._cli import hub_command as run


def test_discovery_imports_no_aws_client(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from hub import Hub
        from hub.plugins import discover
        hub = Hub.from_settings(env="staging", registry=discover(),
                                storage={"provider": "s3", "s3": {"bucket": "b-1-2"}})
        provider = hub.storage.get_provider("s3")   # built, nothing stored yet
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"aiobotocore", "botocore"})
        print(type(provider).__name__, loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["S3StorageProvider", "[]"]


def test_plugin_is_listed_by_hub_plugins(tmp_path: Path) -> None:
    record = listed_plugin(tmp_path, "s3")
    assert record["status"] == "ok", record["error"]
    assert record["distribution"] == "hub-s3"
    assert record["providers"] == [{"capability": "storage", "name": "s3"}]


def test_spec_declares_every_storage_feature() -> None:
    spec = default_registry().provider("storage", "s3")
    assert spec.features == FEATURES


def test_settings_read_the_conventional_aws_variables(
    monkeypatch: pytest.MonkeyPatch, isolated_env: None
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env-not-real")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://r2.example.test")
    monkeypatch.setenv("HUB_STORAGE__S3__BUCKET", "invoices")
    hub = Hub.from_settings(env="staging", storage={"provider": "s3"})
    s3: Any = hub.storage.get_provider("s3")
    assert s3.settings.region == "eu-central-1"
    assert s3.settings.endpoint_url == "https://r2.example.test"
    assert s3.bucket == "invoices"
    assert "secret-from-env-not-real" not in repr(s3.settings) + repr(s3)


def test_cli_puts_gets_lists_signs_and_removes(moto_url: str, tmp_path: Path) -> None:
    env = clean_env(
        HUB_STORAGE__S3__BUCKET=BUCKET,
        HUB_STORAGE__S3__ENDPOINT_URL=moto_url,
        HUB_STORAGE__S3__REGION=REGION,
        AWS_ACCESS_KEY_ID=CREDENTIALS["access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["secret_access_key"],
    )
    put_url = storage_round_trip("s3", tmp_path, env)
    assert put_url.startswith(f"{moto_url}/{BUCKET}/cli/report.csv?")
    assert "X-Amz-Signature=" in put_url


def test_cli_reports_a_missing_bucket_setting(tmp_path: Path) -> None:
    result = run(["storage", "ls", "-p", "s3"], tmp_path, clean_env())
    assert result.returncode != 0
    assert "bucket" in result.stdout + result.stderr
