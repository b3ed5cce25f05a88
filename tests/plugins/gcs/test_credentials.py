"""The service account's JWT and the token cache."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hub_gcs.credentials import SCOPE, AccessToken, ServiceAccount, TokenCache

from tests.plugins.gcs.conftest import EMAIL, service_account_info

pytestmark = pytest.mark.anyio


def _part(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_assertion_is_an_rs256_jwt_with_the_documented_claims(
    test_key: rsa.RSAPrivateKey,
) -> None:
    account = ServiceAccount.from_info(service_account_info(test_key))
    jwt = account.assertion(now=1_700_000_000)
    head, claims, signature = jwt.split(".")
    assert _part(head) == {"alg": "RS256", "typ": "JWT", "kid": "hub-test-key-id"}
    assert _part(claims) == {
        "iss": EMAIL,
        "scope": SCOPE,
        "aud": "https://oauth2.googleapis.com/token",
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
    }
    test_key.public_key().verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{head}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"private_key": "not a key"}, "not a PEM RSA key"),
        ({"client_email": ""}, "lacks client_email"),
        ({"type": "authorized_user"}, "service account"),
    ],
)
def test_bad_key_files_say_what_is_wrong(
    test_key: rsa.RSAPrivateKey, change: dict[str, str], needle: str
) -> None:
    with pytest.raises(ValueError, match=needle):
        ServiceAccount.from_info({**service_account_info(test_key), **change})


def test_the_private_key_stays_out_of_reprs(test_key: rsa.RSAPrivateKey) -> None:
    info = service_account_info(test_key)
    account = ServiceAccount.from_info(info)
    assert "PRIVATE KEY" not in repr(account)
    assert "secret-value" not in repr(AccessToken("secret-value", 0))


async def test_concurrent_callers_share_one_refresh() -> None:
    fetched = 0

    async def fetch() -> AccessToken:
        nonlocal fetched
        fetched += 1
        await anyio.sleep(0.05)
        return AccessToken(f"token-{fetched}", 10_000.0)

    now = [1_000.0]
    cache = TokenCache(fetch, margin=300, clock=lambda: now[0])
    seen: list[str] = []

    async def use() -> None:
        seen.append(await cache.get())

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(use)
    assert fetched == 1
    assert seen == ["token-1"] * 20
    now[0] = 9_750.0  # within five minutes of expiry: refreshed
    assert await cache.get() == "token-2"
    cache.invalidate()
    assert await cache.get() == "token-3"
