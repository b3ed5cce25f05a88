"""Replays of Mailgun exchanges (``cassettes/mailgun``), in CI with mode ``none``.

The committed cassettes are documentation-built: recorded through ``CassetteTransport`` with a
MockTransport answering as Mailgun's Messages API reference documents (200 with ``{"id":
"<...>", "message": "Queued. Thank you."}``). To record them against the real API, delete a file
and run with ``HUB_RECORD_MODE=once``, ``MAILGUN_API_KEY`` and ``MAILGUN_DOMAIN`` set (and
``MAILGUN_TEST_TO`` = an authorized recipient of a sandbox domain); the messages carry
``o:testmode=yes``, so Mailgun accepts them without delivering. Replays use the domain found in
the recording, so a cassette recorded with your domain replays anywhere.
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

from hub.capabilities.email import Attachment
from hub.core import Hub
from hub.http import override_transport
from hub.testing.cassettes import CassetteTransport, Mode

pytestmark = [pytest.mark.anyio]

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "mailgun"
# Read at import: the isolated_env fixture of other modules clears variables later.
_MODE = os.environ.get("HUB_RECORD_MODE", "").strip().lower() or "none"
_LIVE_KEY = os.environ.get("MAILGUN_API_KEY")
_LIVE_DOMAIN = os.environ.get("MAILGUN_DOMAIN")
_TO = os.environ.get("MAILGUN_TEST_TO", "ada@example.com")
_TEST_MODE = {"mailgun": {"o:testmode": "yes"}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> Mode:
    return cast(Mode, request.config.getoption("hub_record_mode") or _MODE)


def documented(request: httpx.Request) -> httpx.Response:
    """Mailgun's documented answer to ``POST /v3/<domain>/messages``."""
    domain = request.url.path.split("/")[2]
    return httpx.Response(
        200,
        json={"id": f"<20240501120000.1.A1B2C3D4E5F6@{domain}>", "message": "Queued. Thank you."},
        headers={"Content-Type": "application/json"},
    )


def recorded_domain(path: Path) -> str | None:
    """The sending domain a cassette was recorded with, so replays ask for the same URL."""
    if not path.exists():
        return None
    url: str = json.loads(path.read_text())["interactions"][0]["request"]["url"]
    return url.split("/v3/", 1)[1].split("/", 1)[0]


@asynccontextmanager
async def cassette_hub(
    name: str, mode: Mode, tmp_path: Path
) -> AsyncIterator[tuple[Hub, CassetteTransport, str]]:
    """A Mailgun hub whose HTTP goes through ``cassettes/mailgun/<name>.json``."""
    path = CASSETTES / f"{name}.json"
    live = _LIVE_KEY is not None and _LIVE_DOMAIN is not None and mode != "none"
    domain = (_LIVE_DOMAIN if live else recorded_domain(path)) or "mg.example.com"
    cassette = CassetteTransport(
        path,
        mode=mode,
        inner=None if live else httpx.MockTransport(documented),
        secrets=[_LIVE_KEY] if _LIVE_KEY else [],
    )
    settings: dict[str, Any] = {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "provider": "mailgun",
            "providers": ["mailgun"],
            "default_from": f"Shop <shop@{domain}>",
            "resilience": {"retry": {"attempts": 1}},
            "mailgun": {"api_key": _LIVE_KEY or "key-replay-only-0000", "domain": domain},
        },
    }
    try:
        with override_transport(cassette):
            async with Hub.from_settings(**settings) as hub:
                yield hub, cassette, domain
    finally:
        await cassette.aclose()


async def test_send_basic(mode: Mode, tmp_path: Path) -> None:
    async with cassette_hub("send_basic", mode, tmp_path) as (hub, cassette, domain):
        receipt = await hub.email.send(
            to=f"Ada Lovelace <{_TO}>",
            subject="Your order #1001",
            text="Thanks for your order.",
            html="<p>Thanks for your <b>order</b>.</p>",
            tags=["orders"],
            metadata={"order_id": "1001"},
            provider_options=_TEST_MODE,
        )
    assert receipt.provider_id is not None
    assert receipt.provider_id.endswith(f"@{domain}")
    assert [(r.email, r.status) for r in receipt.recipients] == [(_TO, "queued")]
    assert cassette.all_played
    recorded = cassette.interactions[0]["request"]
    assert recorded["headers"]["authorization"] == "<REDACTED>"
    assert "key-replay-only-0000" not in json.dumps(cassette.interactions)


async def test_send_attachments(mode: Mode, tmp_path: Path) -> None:
    report = Attachment(filename="report.csv", content=b"id,total\n1001,19.99\n")
    logo = Attachment(filename="logo.svg", content=b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                      inline=True)  # fmt: skip
    async with cassette_hub("send_attachments", mode, tmp_path) as (hub, cassette, _):
        receipt = await hub.email.send(
            to=_TO,
            subject="Your report",
            html='<p><img src="cid:logo.svg"> Report attached.</p>',
            attachments=[report, logo],
            provider_options=_TEST_MODE,
        )
    assert receipt.recipients[0].status == "queued"
    assert cassette.all_played
    content_type = cassette.interactions[0]["request"]["headers"]["content-type"]
    assert isinstance(content_type, str)
    assert content_type.startswith("multipart/form-data")


async def test_send_batch(mode: Mode, tmp_path: Path) -> None:
    recipients = [_TO, "grace@example.com", "edsger@example.com"]
    messages = [
        {
            "to": address,
            "subject": "Spring sale",
            "text": "Hello %recipient.first%, the sale starts today.",
            "template_data": {"first": address.split("@")[0].title()},
            "provider_options": _TEST_MODE,
        }
        for address in recipients
    ]
    async with cassette_hub("send_batch", mode, tmp_path) as (hub, cassette, _):
        results = await hub.email.send_many(messages)
    assert [r.ok for r in results] == [True, True, True]
    assert len(cassette.interactions) == 1, "one recipient-variables send for all three"
    ids = {r.receipt.provider_id for r in results if r.receipt is not None}
    assert len(ids) == 1
    assert cassette.all_played
