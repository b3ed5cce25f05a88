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
from hub.errors import ConfigurationError
from hub.plugins import default_registry
from tests.plugins.azure.conftest import ACCOUNT, CONTAINER, KEY
from tests.plugins.storage._cli import clean_env, listed_plugin, storage_round_trip


def test_discovery_imports_only_the_hooks(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from hub.plugins import discover
        discover().provider("storage", "azure")
        print(sorted(m for m in sys.modules if m.startswith("hub_azure")))
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
    assert result.stdout.strip() == "['hub_azure']"


def test_plugin_is_listed_by_hub_plugins(tmp_path: Path) -> None:
    record = listed_plugin(tmp_path, "azure")
    assert record["status"] == "ok", record["error"]
    assert record["distribution"] == "hub-azure"
    assert record["providers"] == [{"capability": "storage", "name": "azure"}]


def test_spec_declares_every_storage_feature() -> None:
    assert default_registry().provider("storage", "azure").features == FEATURES


def test_settings_read_the_conventional_azure_variables(
    monkeypatch: pytest.MonkeyPatch, isolated_env: None
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "shopfiles")
    monkeypatch.setenv("AZURE_STORAGE_KEY", KEY)
    monkeypatch.setenv("HUB_STORAGE__AZURE__CONTAINER", "invoices")
    hub = Hub.from_settings(env="staging", storage={"provider": "azure"})
    azure: Any = hub.storage.get_provider("azure")
    assert azure.settings.account == "shopfiles"
    assert str(azure.client.base_url) == "https://shopfiles.blob.core.windows.net"
    assert azure.container == "invoices"
    assert KEY not in repr(azure.settings) + repr(azure)


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"container": "c-1"}, "account_name and account_key"),
        ({"account_name": ACCOUNT, "account_key": "%%%", "container": "c-1"}, "not base64"),
        ({"account_name": ACCOUNT, "account_key": KEY, "container": "Bad_Name"}, "container"),
        ({"account_name": "No-Such", "account_key": KEY, "container": "c-1"}, "account_name"),
    ],
)
def test_bad_settings_are_configuration_errors(
    isolated_env: None, section: dict[str, str], needle: str
) -> None:
    hub = Hub.from_settings(env="staging", storage={"provider": "azure", "azure": section})
    with pytest.raises(ConfigurationError, match=needle) as caught:
        _ = hub.storage
    assert KEY not in str(caught.value)


def test_cli_puts_gets_lists_signs_and_removes(azurite: str, tmp_path: Path) -> None:
    env = clean_env(
        AZURE_STORAGE_ACCOUNT=ACCOUNT,
        AZURE_STORAGE_KEY=KEY,
        HUB_STORAGE__AZURE__CONTAINER=CONTAINER,
        HUB_STORAGE__AZURE__ENDPOINT=azurite,
    )
    put_url = storage_round_trip("azure", tmp_path, env)
    assert put_url.startswith(f"{azurite}/{CONTAINER}/cli/report.csv?")
    assert "sp=cw" in put_url
