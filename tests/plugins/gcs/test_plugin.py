"""The plugin as an operator meets it: discovery, settings from env and key files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hub import Hub
from hub.capabilities.storage import FEATURES
from hub.errors import ConfigurationError
from hub.plugins import default_registry
from tests.plugins.gcs.conftest import EMAIL, service_account_info
from tests.plugins.storage._cli import clean_env, listed_plugin


def test_discovery_imports_only_the_hooks(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from hub.plugins import discover
        discover().provider("storage", "gcs")
        print(sorted(m for m in sys.modules if m.startswith("hub_gcs")))
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
    assert result.stdout.strip() == "['hub_gcs']"


def test_plugin_is_listed_by_hub_plugins(tmp_path: Path) -> None:
    record = listed_plugin(tmp_path, "gcs")
    assert record["status"] == "ok", record["error"]
    assert record["distribution"] == "hub-gcs"
    assert record["providers"] == [{"capability": "storage", "name": "gcs"}]


def test_spec_declares_every_storage_feature() -> None:
    assert default_registry().provider("storage", "gcs").features == FEATURES


def test_the_key_file_comes_from_google_application_credentials(
    monkeypatch: pytest.MonkeyPatch, isolated_env: None, tmp_path: Path, test_key: rsa.RSAPrivateKey
) -> None:
    key_file = tmp_path / "service-account.json"
    info = service_account_info(test_key)
    key_file.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.setenv("HUB_STORAGE__GCS__BUCKET", "invoices")
    hub = Hub.from_settings(env="staging", storage={"provider": "gcs"})
    gcs: Any = hub.storage.get_provider("gcs")
    assert gcs.account.client_email == EMAIL
    assert gcs.bucket == "invoices"
    assert "PRIVATE KEY" not in repr(gcs.settings) + repr(gcs) + repr(gcs.account)
    assert info["private_key"] in gcs.secrets, "the key is redacted wherever the hub writes"


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"bucket": "b-1"}, "exactly one of credentials"),
        ({"bucket": "b-1", "credentials": "{not json"}, "not JSON"),
        ({"bucket": "b-1", "credentials_file": "/nonexistent/key.json"}, "cannot read"),
        ({"bucket": "B", "credentials": "{}"}, "bucket"),
        ({"bucket": "b-1", "credentials": "{}", "chunk_size": 1000000}, "256 KiB"),
    ],
)
def test_bad_settings_are_configuration_errors(
    isolated_env: None, section: dict[str, Any], needle: str
) -> None:
    hub = Hub.from_settings(env="staging", storage={"provider": "gcs", "gcs": section})
    with pytest.raises(ConfigurationError, match=needle):
        _ = hub.storage


def test_a_key_that_is_not_a_service_account_is_refused(
    isolated_env: None, test_key: rsa.RSAPrivateKey
) -> None:
    info = {**service_account_info(test_key), "private_key": "-----BEGIN PRIVATE KEY-----\nxx"}
    section = {"bucket": "b-1", "credentials": json.dumps(info)}
    hub = Hub.from_settings(env="staging", storage={"provider": "gcs", "gcs": section})
    with pytest.raises(ConfigurationError, match="not a PEM RSA key") as caught:
        _ = hub.storage
    assert "BEGIN PRIVATE KEY" not in str(caught.value)
