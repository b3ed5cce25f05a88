"""Fixtures for the GCS plugin: a throwaway service account and the documented-API stand-in.

The RSA key is generated per test session and never written to the repository; the account's
e-mail names an obviously fake project.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hub import Hub
from hub.http import override_transport
from tests.plugins.gcs._fake import TOKEN_URI, FakeGcs

BUCKET = "hub-test-bucket"
EMAIL = "hub-test@hub-test-project.iam.gserviceaccount.com"
ONE_ATTEMPT = {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def test_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """A key file's JSON for the throwaway key (the fields Google's key files have)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "hub-test-project",
        "private_key_id": "hub-test-key-id",
        "private_key": pem,
        "client_email": EMAIL,
        "client_id": "000000000000000000000",
        "token_uri": TOKEN_URI,
    }


@pytest.fixture
def credentials(test_key: rsa.RSAPrivateKey) -> str:
    return json.dumps(service_account_info(test_key))


def gcs_section(credentials: str, **extra: Any) -> dict[str, Any]:
    return {"bucket": BUCKET, "credentials": credentials, **extra}


@pytest.fixture
async def vendor(test_key: rsa.RSAPrivateKey, anyio_backend: object) -> AsyncIterator[FakeGcs]:
    """The stand-in under every hub client of the test (task-local override)."""
    fake = FakeGcs(test_key.public_key(), bucket=BUCKET)
    with override_transport(httpx.MockTransport(fake.handler)):
        yield fake


@pytest.fixture
async def gcs_hub(
    credentials: str, tmp_path: Path, vendor: FakeGcs
) -> AsyncIterator[Callable[..., Hub]]:
    """``gcs_hub(**section)``: a hub storing in the stand-in's bucket, closed after the test."""
    made: list[Hub] = []

    def factory(**extra: Any) -> Hub:
        hub = Hub.from_settings(
            env="test",
            data_dir=tmp_path,
            state={"url": "memory://"},
            storage={
                "provider": "gcs",
                "providers": ["gcs"],
                "gcs": gcs_section(credentials, **extra),
                "resilience": ONE_ATTEMPT,
            },
        )
        made.append(hub)
        return hub

    yield factory
    for hub in made:
        await hub.aclose()
