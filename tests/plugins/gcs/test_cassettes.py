"""Replays of Cloud Storage exchanges (``cassettes/gcs``), in CI with mode ``none``.

The committed cassettes are documentation-built: recorded through ``CassetteTransport`` with
the documented-API stand-in (tests/plugins/gcs/_fake.py) answering, the real hosts in the URLs.
Tokens, the JWT assertion (a form field, redacted so that any key's assertion matches) and
the Authorization header never reach the file. To record against Google instead: delete a
file, set ``HUB_RECORD_MODE=once``, ``GOOGLE_APPLICATION_CREDENTIALS`` (a service account
allowed to write objects) and ``HUB_GCS_TEST_BUCKET``; see plugins/hub-gcs/README.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hub import Hub
from hub.errors import NotFound
from hub.http import override_transport
from hub.testing.cassettes import CassetteTransport, Mode
from tests.plugins.gcs._fake import KIB256, FakeGcs
from tests.plugins.gcs.conftest import ONE_ATTEMPT

pytestmark = [pytest.mark.anyio]

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "gcs"
# Read at import: the isolated_env fixture of other modules clears HUB_* variables later.
_MODE = os.environ.get("HUB_RECORD_MODE", "").strip().lower() or "none"
_LIVE_KEY = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
BUCKET = os.environ.get("HUB_GCS_TEST_BUCKET", "hub-test-bucket")


@asynccontextmanager
async def cassette_hub(
    name: str, test_key: rsa.RSAPrivateKey, credentials: str, **section: Any
) -> AsyncIterator[Hub]:
    """A hub on GCS whose requests replay (or record) ``cassettes/gcs/<name>.json``."""
    live = _MODE != "none" and _LIVE_KEY is not None
    inner = (
        None if live else httpx.MockTransport(FakeGcs(test_key.public_key(), bucket=BUCKET).handler)
    )
    cassette = CassetteTransport(
        CASSETTES / f"{name}.json",
        mode=cast(Mode, _MODE),
        inner=inner,
        redact_fields=("assertion",),
    )
    gcs: dict[str, Any] = {"bucket": BUCKET, **section}
    if live:
        gcs["credentials_file"] = _LIVE_KEY
    else:
        gcs["credentials"] = credentials
    try:
        with override_transport(cassette):
            async with Hub.from_settings(
                env="test",
                state={"url": "memory://"},
                storage={"provider": "gcs", "gcs": gcs, "resilience": ONE_ATTEMPT},
            ) as hub:
                yield hub
        assert cassette.all_played, f"{name}: some recorded requests were not made"
    finally:
        await cassette.aclose()


async def test_upload_read_list_and_delete(test_key: rsa.RSAPrivateKey, credentials: str) -> None:
    async with cassette_hub("objects", test_key, credentials) as hub:
        receipt = await hub.storage.put(
            "cassette/report.csv",
            b"id,total\n1,19.99\n",
            content_type="text/csv",
            metadata={"customer-id": "42"},
        )
        assert receipt.size == 17
        info = await hub.storage.head("cassette/report.csv")
        assert info.content_type == "text/csv"
        assert info.metadata == {"customer-id": "42"}
        assert await hub.storage.get("cassette/report.csv") == b"id,total\n1,19.99\n"
        assert await hub.storage.keys("cassette/") == ["cassette/report.csv"]
        await hub.storage.delete("cassette/report.csv")
        with pytest.raises(NotFound):
            await hub.storage.head("cassette/report.csv")
        await hub.storage.delete("cassette/report.csv")  # again: not an error


async def test_resumable_upload(test_key: rsa.RSAPrivateKey, credentials: str) -> None:
    data = b"0123456789abcdef" * (KIB256 // 16) + b"tail"  # text: readable in the file
    async with cassette_hub("resumable", test_key, credentials, chunk_size=KIB256) as hub:
        receipt = await hub.storage.put("cassette/big.bin", data)
        assert receipt.size == len(data)
        assert (await hub.storage.head("cassette/big.bin")).size == len(data)
        await hub.storage.delete("cassette/big.bin")


def test_cassettes_hold_no_credentials() -> None:
    for path in sorted(CASSETTES.glob("*.json")):
        text = path.read_text()
        assert "PRIVATE KEY" not in text, path
        assert "ya29." not in text, f"{path}: an access token was recorded"
        document = json.loads(text)
        for interaction in document["interactions"]:
            request = interaction["request"]
            if "authorization" in request["headers"]:
                assert request["headers"]["authorization"] == "<REDACTED>", path
            if request["url"].endswith("/token"):
                assert request["body"]["text"].endswith("assertion=<REDACTED>"), path
