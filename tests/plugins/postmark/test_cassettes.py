"""Replays of Postmark exchanges (``cassettes/postmark``), in CI with mode ``none``.

The committed cassettes are documentation-built: recorded through ``CassetteTransport`` with
a MockTransport answering with the responses of Postmark's Email API reference. With
``HUB_RECORD_MODE=once`` (after deleting a file) and ``POSTMARK_SERVER_TOKEN`` set (the public
``POSTMARK_API_TEST`` token validates without sending), the same tests record against the real
API instead; see plugins/hub-postmark/README.md.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from hub.core import Hub
from hub.testing.cassettes import CassetteTransport, Mode
from hub.testing.cassettes import cassette_hub as shared_cassette_hub

pytestmark = [pytest.mark.anyio]

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "postmark"
# Read at import: the isolated_env fixture of other modules clears HUB_* variables later.
_MODE = os.environ.get("HUB_RECORD_MODE", "").strip().lower() or "none"
_LIVE_TOKEN = os.environ.get("POSTMARK_SERVER_TOKEN")
#: A confirmed sender signature of your Postmark server when recording for real.
SENDER = os.environ.get("POSTMARK_TEST_FROM", "Shop <shop@example.com>")
_SUBMITTED_AT = "2014-02-17T07:25:01.4178645-05:00"
_IDS = [
    "0a129aee-e1cd-480d-b08d-4f48548ff48d",
    "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
    "e2ecbbfc-fe12-463d-b933-9fe22915106d",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def documented(request: httpx.Request) -> httpx.Response:
    """Postmark's documented answers: one result object, or one per message of a batch."""
    body = json.loads(request.content)

    def result(n: int, message: dict[str, str]) -> dict[str, object]:
        return {
            "To": message["To"],
            "SubmittedAt": _SUBMITTED_AT,
            "MessageID": _IDS[n],
            "ErrorCode": 0,
            "Message": "OK",
        }

    if isinstance(body, list):
        return httpx.Response(200, json=[result(n, m) for n, m in enumerate(body)])
    return httpx.Response(200, json=result(0, body))


def cassette_hub(
    name: str, mode: Mode, tmp_path: Path
) -> AbstractAsyncContextManager[tuple[Hub, CassetteTransport]]:
    """A Postmark hub whose HTTP goes through ``cassettes/postmark/<name>.json``."""
    settings: dict[str, Any] = {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "provider": "postmark",
            "providers": ["postmark"],
            "postmark": {"server_token": _LIVE_TOKEN or "POSTMARK_API_TEST"},
        },
    }
    return shared_cassette_hub(
        CASSETTES / f"{name}.json",
        mode=mode,
        settings=settings,
        documented=documented,
        live_secret=_LIVE_TOKEN,
    )


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> Mode:
    return cast(Mode, request.config.getoption("hub_record_mode") or _MODE)


def recorded(cassette: CassetteTransport) -> object:
    return cassette.interactions[0]["response"]["body"]["json"]


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
    answer = recorded(cassette)
    assert isinstance(answer, dict)
    assert receipt.provider_message_id == answer["MessageID"]
    assert receipt.raw == answer
    assert [(r.email, r.status) for r in receipt.recipients] == [
        ("ada@example.com", "queued"),
        ("grace@example.com", "queued"),
    ]


async def test_send_many_replays_one_batch_request(mode: Mode, tmp_path: Path) -> None:
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
    assert cassette.interactions[0]["request"]["url"] == "https://api.postmarkapp.com/email/batch"
    answers = recorded(cassette)
    assert isinstance(answers, list)
    assert [r.receipt.provider_message_id for r in results if r.receipt] == [
        a["MessageID"] for a in answers
    ]
