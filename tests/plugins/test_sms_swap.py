"""One SMS, every SMS provider: the same call, only the settings change (issue 8).

Each case points the hub at one provider and at a local stand-in of its vendor: the fake and
local built-ins need none, Vonage and Twilio answer through pytest-httpx with their documented
responses, Amazon SNS runs on moto's server on 127.0.0.1. A vendor plugin that is not installed
is skipped with the reason; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pytest_httpx import HTTPXMock

from hub.capabilities.sms import count_segments
from hub.core import Hub

TO = "+447700900000"
SENDER = "+15005550006"
BODY = "Your Acme order 42 has shipped."

Delivered = Callable[[Hub], list[dict[str, str]]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Vendor:
    """A provider's settings section, its hub env, and how to read what its vendor received."""

    section: dict[str, Any]
    delivered: Delivered
    env: str = "test"


def _require(module: str, distribution: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{distribution} is not installed (plugins/{distribution} not built yet)")


def fake_vendor(httpx_mock: HTTPXMock, tmp_path: Path) -> Vendor:
    def delivered(hub: Hub) -> list[dict[str, str]]:
        return [{"to": m.to, "text": m.body} for m in hub.sms.outbox]

    return Vendor({}, delivered)


def local_vendor(httpx_mock: HTTPXMock, tmp_path: Path) -> Vendor:
    def delivered(hub: Hub) -> list[dict[str, str]]:
        lines = (tmp_path / "sms.jsonl").read_text().splitlines()
        return [{"to": r["to"], "text": r["body"]} for r in map(json.loads, lines)]

    return Vendor({}, delivered, env="development")


def vonage_vendor(httpx_mock: HTTPXMock, tmp_path: Path) -> Vendor:
    _require("hub_vonage", "hub-vonage")
    from tests.plugins.vonage.fake_vonage import API_KEY, API_SECRET, FakeVonage

    fake = FakeVonage()
    httpx_mock.add_callback(fake.handle, url="https://rest.nexmo.com/sms/json", is_optional=True)

    def delivered(hub: Hub) -> list[dict[str, str]]:
        return [{"to": f"+{r['to']}", "text": r["text"]} for r in fake.requests]

    return Vendor({"api_key": API_KEY, "api_secret": API_SECRET}, delivered)


def twilio_vendor(httpx_mock: HTTPXMock, tmp_path: Path) -> Vendor:
    _require("hub_twilio", "hub-twilio")
    account = "AC" + "0" * 32
    received: list[dict[str, str]] = []

    def messages(request: httpx.Request) -> httpx.Response:
        # Twilio's documented answer to "Create a Message": 201 and the Message resource.
        form = dict(parse_qsl(request.content.decode("utf-8")))
        received.append(form)
        sid = "SM" + uuid.uuid4().hex
        return httpx.Response(
            201,
            json={
                "account_sid": account,
                "api_version": "2010-04-01",
                "body": form["Body"],
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": str(count_segments(form["Body"])),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "to": form["To"],
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            },
        )

    httpx_mock.add_callback(
        messages,
        url=f"https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json",
        is_optional=True,
    )

    def delivered(hub: Hub) -> list[dict[str, str]]:
        return [{"to": r["To"], "text": r["Body"]} for r in received]

    return Vendor({"account_sid": account, "auth_token": "twilio-test-auth-token"}, delivered)


@pytest.fixture(scope="module")
def moto_sns() -> Iterator[str]:
    """moto's server on 127.0.0.1, speaking Amazon SNS's real protocol."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def sns_vendor(httpx_mock: HTTPXMock, tmp_path: Path, moto_url: str) -> Vendor:
    from moto.backends import get_backend

    # moto's backends live for the whole process (other tests' moto servers publish there
    # too), so only the messages published after this point are this test's.
    backend = get_backend("sns")["123456789012"]["us-east-1"]
    earlier = set(backend.sms_messages)

    def delivered(hub: Hub) -> list[dict[str, str]]:
        return [
            {"to": number, "text": text}
            for message_id, (number, text, *_) in backend.sms_messages.items()
            if message_id not in earlier
        ]

    return Vendor(
        {
            "region": "us-east-1",
            "endpoint_url": moto_url,
            "access_key_id": "AKIDTESTTESTTEST",
            "secret_access_key": "moto-secret-not-real",
        },
        delivered,
    )


VENDORS = ["fake", "local", "vonage", "twilio", "sns"]


@pytest.fixture
def vendor(request: pytest.FixtureRequest, httpx_mock: HTTPXMock, tmp_path: Path) -> Vendor:
    name = request.param
    if name == "sns":
        _require("hub_sns", "hub-sns")
        return sns_vendor(httpx_mock, tmp_path, request.getfixturevalue("moto_sns"))
    builders = {
        "fake": fake_vendor,
        "local": local_vendor,
        "vonage": vonage_vendor,
        "twilio": twilio_vendor,
    }
    return builders[name](httpx_mock, tmp_path)


@pytest.mark.anyio
@pytest.mark.parametrize("vendor", VENDORS, indirect=True)
async def test_the_same_sms_through_every_provider_by_settings_alone(
    request: pytest.FixtureRequest, vendor: Vendor, tmp_path: Path
) -> None:
    name = request.node.callspec.params["vendor"]
    settings: dict[str, Any] = {
        "env": vendor.env,
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "sms": {
            "provider": name,
            "default_sender": SENDER,
            name: vendor.section,
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        },
    }
    async with Hub.from_settings(**settings) as hub:
        # The application code: identical for every provider.
        receipt = await hub.sms.send(TO, BODY, idempotency_key="swap-1")

        assert receipt.provider == name
        assert receipt.provider_id
        assert receipt.to == TO
        assert receipt.status in ("queued", "sent", "delivered")
        assert receipt.segments == count_segments(BODY)
        assert receipt.idempotency_key == "swap-1"
        assert vendor.delivered(hub) == [{"to": TO, "text": BODY}]
