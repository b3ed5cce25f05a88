"""`hub storage put|get|ls|url|rm` on Google Cloud Storage, run as an operator would.

The documented-API stand-in (token endpoint, JSON API, uploads) answers behind a real HTTP
server on 127.0.0.1; the child process finds it through the plugin's settings (``base_url``
and the key file's ``token_uri``), so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.testing.stub_server import serve
from tests.plugins.gcs import _fake
from tests.plugins.gcs.conftest import BUCKET, EMAIL, service_account_info
from tests.plugins.storage._cli import clean_env, storage_round_trip


@pytest.fixture
def local_gcs(
    test_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, _fake.FakeGcs]]:
    """The stand-in served on 127.0.0.1, its token endpoint and API root moved there too."""
    fake = _fake.FakeGcs(test_key.public_key(), bucket=BUCKET)

    def handle(request: httpx.Request) -> httpx.Response:
        return asyncio.run(fake.handler(request))

    with serve(handle) as base_url:
        # The stand-in compares the token URL and the JWT's audience with these.
        monkeypatch.setattr(_fake, "TOKEN_URI", f"{base_url}/token")
        monkeypatch.setattr(_fake, "API", base_url)
        yield base_url, fake


def _verify_signed_url(url: str, key: rsa.RSAPublicKey) -> str:
    """Check a PUT V4 signed URL's signature as Google documents it; returns the URL's path."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    signature = query.pop("X-Goog-Signature")
    unsigned_query = parts.query.partition("&X-Goog-Signature=")[0]
    canonical = (
        f"PUT\n{parts.path}\n{unsigned_query}\nhost:{parts.netloc}\n\nhost\nUNSIGNED-PAYLOAD"
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    to_sign = (
        f"GOOG4-RSA-SHA256\n{query['X-Goog-Date']}\n{scope}\n"
        f"{hashlib.sha256(canonical.encode()).hexdigest()}"
    )
    key.verify(bytes.fromhex(signature), to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    return parts.path


def test_cli_puts_gets_lists_signs_and_removes(
    local_gcs: tuple[str, _fake.FakeGcs], test_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    base_url, fake = local_gcs
    key_file = {**service_account_info(test_key), "token_uri": f"{base_url}/token"}
    env = clean_env(
        HUB_STORAGE__GCS__BUCKET=BUCKET,
        HUB_STORAGE__GCS__BASE_URL=base_url,
        HUB_STORAGE__GCS__CREDENTIALS=json.dumps(key_file),
    )

    put_url = storage_round_trip("gcs", tmp_path, env)

    assert put_url.startswith(f"{base_url}/{BUCKET}/cli/report.csv?X-Goog-Algorithm=")
    assert f"X-Goog-Credential={EMAIL.replace('@', '%40')}" in put_url
    assert "X-Goog-Expires=600" in put_url
    assert _verify_signed_url(put_url, test_key.public_key()) == f"/{BUCKET}/cli/report.csv"
    seen = {(r.method, r.url.path) for r in fake.requests}
    assert ("POST", "/token") in seen, "the child process bought its token from the stand-in"
    assert ("POST", f"/upload/storage/v1/b/{BUCKET}/o") in seen
    assert all(str(r.url).startswith(base_url) for r in fake.requests)
    assert fake.objects == {}, "rm deleted the object"
