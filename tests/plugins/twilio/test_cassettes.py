"""Replays of cassettes/twilio (documentation-built; mode ``none`` unless HUB_RECORD_MODE says).

The cassettes hold exactly the requests the plugin builds, so a change to the mapping fails here
with the cassette's diff until the cassettes are rebuilt (see cassette_scenarios.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from hub.core import Hub
from hub.testing.cassettes import CassetteTransport
from tests.plugins.twilio.cassette_scenarios import (
    DIRECTORY,
    VERIFY_REDACT,
    invalid_number,
    send_sms,
    sms_section,
    verify_flow,
)
from tests.plugins.twilio.fake_twilio import AUTH_TOKEN

pytestmark = pytest.mark.anyio


@pytest.mark.cassette("twilio/send_sms")
async def test_send_sms_replays(
    make_hub: Callable[..., Hub], hub_cassette: CassetteTransport
) -> None:
    receipt = await send_sms(make_hub(sms=sms_section("twilio")))
    assert receipt.provider_id is not None
    assert receipt.provider_id.startswith("SM")
    assert receipt.status == "queued"
    assert receipt.segments == 1
    assert hub_cassette.all_played


@pytest.mark.cassette("twilio/invalid_number")
async def test_invalid_number_replays_as_invalid_request(
    make_hub: Callable[..., Hub], hub_cassette: CassetteTransport
) -> None:
    error = await invalid_number(make_hub(sms=sms_section("twilio")))
    assert error.vendor_code == "21211"
    assert error.field == "to"
    assert hub_cassette.all_played


@pytest.mark.cassette("twilio/verify_flow", redact_fields=VERIFY_REDACT)
async def test_verify_flow_replays(
    make_hub: Callable[..., Hub], hub_cassette: CassetteTransport
) -> None:
    wrong, right = await verify_flow(make_hub(sms=sms_section("twilio_verify")))
    assert wrong.status == "incorrect"
    assert right.status == "approved"
    assert hub_cassette.all_played


@pytest.mark.parametrize("name", ["send_sms", "invalid_number", "verify_flow"])
def test_cassettes_hold_no_secret_and_no_code(name: str) -> None:
    text = (DIRECTORY / f"{name}.json").read_text(encoding="utf-8")
    assert AUTH_TOKEN not in text
    for interaction in json.loads(text)["interactions"]:
        request = interaction["request"]
        assert request["headers"]["authorization"] == "<REDACTED>"
        form = dict(parse_qsl(request["body"].get("text", "")))
        assert form.get("Code", "<REDACTED>") == "<REDACTED>"


def test_send_cassette_is_the_documented_request() -> None:
    (interaction,) = json.loads(Path(DIRECTORY / "send_sms.json").read_text())["interactions"]
    request = interaction["request"]
    assert request["url"].startswith("https://api.twilio.com/2010-04-01/Accounts/AC")
    assert request["url"].endswith("/Messages.json")
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert sorted(dict(parse_qsl(request["body"]["text"]))) == [
        "Body",
        "From",
        "StatusCallback",
        "To",
    ]
    assert interaction["response"]["status"] == 201
