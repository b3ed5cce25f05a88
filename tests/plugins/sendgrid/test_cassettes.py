"""Replays of SendGrid exchanges (``cassettes/sendgrid``), in CI with mode ``none``.

The committed cassettes are documentation-built: recorded through ``CassetteTransport`` with
a MockTransport answering as SendGrid's Mail Send reference documents (202, ``X-Message-Id``,
empty body). With ``HUB_RECORD_MODE=once`` (after deleting a file) and ``SENDGRID_API_KEY`` set,
the same tests record against the real API instead; see plugins/hub-sendgrid/README.md.
"""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from hub.capabilities.email import EmailReceipt
from hub.core import Hub
from hub.testing.cassettes import CassetteTransport, Mode
from hub.testing.cassettes import cassette_hub as shared_cassette_hub

pytestmark = [pytest.mark.anyio]

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "sendgrid"
# Read at import: the isolated_env fixture of other modules clears HUB_* variables later.
_MODE = os.environ.get("HUB_RECORD_MODE", "").strip().lower() or "none"
_LIVE_KEY = os.environ.get("SENDGRID_API_KEY")
_DOCUMENTED_ID = "14c5d75ce93.dfd.64b469"
#: A sender verified in your SendGrid account when recording for real.
SENDER = os.environ.get("SENDGRID_TEST_FROM", "Shop <shop@example.com>")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def documented(request: httpx.Request) -> httpx.Response:
    """SendGrid's documented success: 202 Accepted, no body, the id in X-Message-Id."""
    return httpx.Response(202, headers={"Server": "nginx", "X-Message-Id": _DOCUMENTED_ID})


def cassette_hub(
    name: str, mode: Mode, tmp_path: Path
) -> AbstractAsyncContextManager[tuple[Hub, CassetteTransport]]:
    """A SendGrid hub whose HTTP goes through ``cassettes/sendgrid/<name>.json``."""
    settings: dict[str, Any] = {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "provider": "sendgrid",
            "providers": ["sendgrid"],
            "sendgrid": {"api_key": _LIVE_KEY or "SG.replay-only-key"},
        },
    }
    return shared_cassette_hub(
        CASSETTES / f"{name}.json",
        mode=mode,
        settings=settings,
        documented=documented,
        live_secret=_LIVE_KEY,
    )


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> Mode:
    return cast(Mode, request.config.getoption("hub_record_mode") or _MODE)


def recorded_id(cassette: CassetteTransport, index: int = 0) -> str:
    headers = cassette.interactions[index]["response"]["headers"]
    value = headers["x-message-id"]
    return value if isinstance(value, str) else value[0]


def check_queued(receipt: EmailReceipt | None, *emails: str) -> None:
    assert receipt is not None
    assert [(r.email, r.status) for r in receipt.recipients] == [(e, "queued") for e in emails]


async def test_send_replays_the_recorded_exchange(mode: Mode, tmp_path: Path) -> None:
    async with cassette_hub("send_basic", mode, tmp_path) as (hub, cassette):
        receipt = await hub.email.send(
            from_=SENDER,
            to=["Ada Lovelace <ada@example.com>"],
            cc=["grace@example.com"],
            subject="Your order",
            text="Thanks for your order.",
            html="<p>Thanks for your <b>order</b>.</p>",
            tags=["orders"],
            metadata={"order_id": "42"},
        )
    assert cassette.all_played
    assert receipt.provider_message_id == recorded_id(cassette)
    check_queued(receipt, "ada@example.com", "grace@example.com")


async def test_send_many_replays_one_request_with_three_personalizations(
    mode: Mode, tmp_path: Path
) -> None:
    async with cassette_hub("send_batch", mode, tmp_path) as (hub, cassette):
        results = await hub.email.send_many(
            [
                {"from": SENDER, "to": address, "subject": f"Hello {n}", "text": "Hi"}
                for n, address in enumerate(
                    ["ada@example.com", "grace@example.com", "edsger@example.com"]
                )
            ]
        )
    assert len(cassette.interactions) == 1
    request = cassette.interactions[0]["request"]["body"]["json"]
    assert len(request["personalizations"]) == 3
    message_id = recorded_id(cassette)
    assert [r.receipt.provider_message_id for r in results if r.receipt] == [
        f"{message_id}#{n}" for n in range(3)
    ]
    check_queued(results[1].receipt, "grace@example.com")
