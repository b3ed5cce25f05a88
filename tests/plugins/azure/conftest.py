"""Fixtures for the Azure plugin: Azurite (Microsoft's Azure Storage emulator) on 127.0.0.1.

Azurite is the npm package ``azurite``; ``.ci/run`` installs it under ``.ci/node``. The tests
find ``azurite-blob`` there or on PATH, start it for the session with ``--disableTelemetry``
(it phones home otherwise) and in-memory persistence, create the container, and stop it after.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import Hub
from tests.plugins.storage._support import free_port, stop, wait_until_answers

ROOT = Path(__file__).resolve().parents[3]
#: Azurite's well-known development account (documented; not a secret).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONTAINER = "hub-test"
ONE_ATTEMPT = {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}}
INSTALL = "npm install --prefix .ci/node azurite@3.37.0 (or run bash .ci/run)"


def azurite_binary() -> str | None:
    local = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """The Blob endpoint of a session-wide Azurite, with the test container created."""
    binary = azurite_binary()
    if binary is None:
        pytest.skip(f"Azurite not installed: {INSTALL}")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--inMemoryPersistence",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),  # where Azurite writes its debug/telemetry-free state
    )
    endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
    try:
        wait_until_answers(endpoint, process)
        with admin_client(endpoint) as client:
            created = client.put(f"/{CONTAINER}", params={"restype": "container"})
            assert created.status_code == 201, created.text
        yield endpoint
    finally:
        stop(process)


def admin_client(endpoint: str) -> httpx.Client:
    """A plain signed client on Azurite, to check what the service holds."""
    from hub_azure.auth import SharedKeyAuth

    auth = SharedKeyAuth(ACCOUNT, base64.b64decode(KEY), "2021-08-06")
    return httpx.Client(base_url=endpoint, auth=auth, timeout=30)


def azure_section(endpoint: str, **extra: Any) -> dict[str, Any]:
    """The ``[storage.azure]`` settings pointing at Azurite."""
    return {
        "account_name": ACCOUNT,
        "account_key": KEY,
        "container": CONTAINER,
        "endpoint": endpoint,
        **extra,
    }


def hub_settings(endpoint: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "storage": {
            "provider": "azure",
            "providers": ["azure"],
            "azure": azure_section(endpoint, **extra),
            "resilience": extra.pop("resilience", ONE_ATTEMPT),
        },
    }


@pytest.fixture
async def azure_hub(azurite: str, tmp_path: Path) -> AsyncIterator[Callable[..., Hub]]:
    """``azure_hub(**section)``: a hub storing in Azurite's container, closed after the test."""
    made: list[Hub] = []

    def factory(**extra: Any) -> Hub:
        hub = Hub.from_settings(**hub_settings(azurite, tmp_path, **extra))
        made.append(hub)
        return hub

    yield factory
    for hub in made:
        await hub.aclose()
