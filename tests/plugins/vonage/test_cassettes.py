"""Replay of the documentation-built cassettes (mode none): the exact request, then the answer.

See :mod:`tests.plugins.vonage.cassette_scenarios` for how they were made and how to re-record.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import AuthenticationError, RateLimited
from hub.testing.cassettes import CassetteTransport
from hub.testing.clock import FakeClock
from hub.testing.pytest_plugin import managed_hub
from tests.plugins.vonage.cassette_scenarios import SCENARIOS, SIGNED_FIELDS, make_hub

pytestmark = pytest.mark.anyio


def _clock(cassette: CassetteTransport) -> FakeClock | None:
    """A fixed clock on replay; the real one when recording against Vonage."""
    return FakeClock() if cassette.mode == "none" else None


@pytest.mark.cassette("vonage/send_text")
async def test_send_text_replays(hub_cassette: CassetteTransport, tmp_path: Path) -> None:
    scenario = SCENARIOS["send_text"]
    async with managed_hub(make_hub(scenario, tmp_path, _clock(hub_cassette))) as hub:
        receipt = await hub.sms.send(scenario.message, idempotency_key="cassette-send_text")
    assert receipt.provider == "vonage"
    assert receipt.to == "+447700900000"
    assert receipt.status == "queued"
    assert receipt.segments == 1
    assert receipt.provider_id == receipt.raw["message_ids"][0]
    assert hub_cassette.all_played


@pytest.mark.cassette("vonage/send_unicode_signed", redact_fields=SIGNED_FIELDS)
async def test_signed_unicode_send_replays(hub_cassette: CassetteTransport, tmp_path: Path) -> None:
    scenario = SCENARIOS["send_unicode_signed"]
    async with managed_hub(make_hub(scenario, tmp_path, _clock(hub_cassette))) as hub:
        receipt = await hub.sms.send(
            scenario.message, idempotency_key="cassette-send_unicode_signed"
        )
    assert receipt.segments == 2
    assert len(receipt.raw["message_ids"]) == 2
    recorded = hub_cassette.interactions[0]["request"]["body"]["text"]
    assert "sig=<REDACTED>" in recorded
    assert "api_secret" not in recorded
    assert hub_cassette.all_played


@pytest.mark.cassette("vonage/send_throttled")
async def test_throttled_replays_as_rate_limited(
    hub_cassette: CassetteTransport, tmp_path: Path
) -> None:
    scenario = SCENARIOS["send_throttled"]
    async with managed_hub(make_hub(scenario, tmp_path, _clock(hub_cassette))) as hub:
        with pytest.raises(RateLimited) as caught:
            await hub.sms.send(scenario.message, idempotency_key="cassette-send_throttled")
    assert caught.value.vendor_code == "1"
    assert caught.value.retryable


@pytest.mark.cassette("vonage/send_bad_credentials")
async def test_bad_credentials_replay_as_authentication_error(
    hub_cassette: CassetteTransport, tmp_path: Path
) -> None:
    scenario = SCENARIOS["send_bad_credentials"]
    async with managed_hub(make_hub(scenario, tmp_path, _clock(hub_cassette))) as hub:
        with pytest.raises(AuthenticationError, match="Bad Credentials"):
            await hub.sms.send(scenario.message, idempotency_key="cassette-send_bad_credentials")
