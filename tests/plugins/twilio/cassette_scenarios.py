"""The calls behind ``cassettes/twilio/*.json``, and how the documentation-built ones were made.

Each scenario is what a cassette test runs against its cassette. Run this module to rebuild the
documentation-built cassettes from :class:`FakeTwilio` (Twilio's documented answers)::

    uv run python -m tests.plugins.twilio.cassette_scenarios

It records through ``CassetteTransport(mode="once", inner=MockTransport(FakeTwilio()))`` with
Twilio's real base URLs, so each file holds exactly the requests the plugin builds. To record
against Twilio itself, see plugins/hub-twilio/README.md.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from hub.capabilities.sms import SmsReceipt, VerificationResult
from hub.core import Hub
from hub.errors import InvalidRequest
from hub.http import override_transport
from hub.testing.cassettes import CassetteTransport
from tests.plugins.twilio.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CODE,
    SENDER,
    VERIFY_SERVICE_SID,
    FakeTwilio,
)

__all__ = ["SCENARIOS", "VERIFY_REDACT", "sms_section"]

DIRECTORY = Path(__file__).resolve().parents[3] / "cassettes" / "twilio"
#: The verification code never reaches a cassette, even one recorded against Twilio.
VERIFY_REDACT = ("Code",)
#: Where a re-recording sends its messages (Twilio's magic numbers work with test credentials).
TO = os.environ.get("TWILIO_TEST_TO", "+14155550100")
#: Read at import, before the tests' fixture hides the machine's TWILIO_* variables.
_CREDENTIALS = {
    "account_sid": os.environ.get("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
    "auth_token": os.environ.get("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
    "verify_service_sid": os.environ.get("TWILIO_VERIFY_SERVICE_SID", VERIFY_SERVICE_SID),
}
_TYPED_CODE = os.environ.get("TWILIO_TEST_CODE", CODE)


def sms_section(provider: str) -> dict[str, Any]:
    """Credentials from TWILIO_* when recording for real, else the fake account's."""
    section = dict(_CREDENTIALS)
    return {
        "provider": provider,
        "providers": [provider],
        provider: section,
        "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
    }


async def send_sms(hub: Hub) -> SmsReceipt:
    return await hub.sms.send(
        TO,
        "Your table for 2 at 19:30 is confirmed.",
        SENDER,
        status_callback="https://hooks.example.com/webhooks/twilio",
    )


async def invalid_number(hub: Hub) -> InvalidRequest:
    try:
        await hub.sms.send("+15005550001", "This number is invalid", SENDER)
    except InvalidRequest as exc:
        return exc
    raise AssertionError("Twilio accepted its magic invalid number")


async def verify_flow(hub: Hub) -> list[VerificationResult]:
    await hub.sms.start_verification(TO)
    return [
        await hub.sms.check_verification(TO, "000000"),
        await hub.sms.check_verification(TO, _TYPED_CODE),
    ]


#: cassette name -> (provider, scenario, form fields redacted)
SCENARIOS: dict[str, tuple[str, Callable[[Hub], Awaitable[Any]], tuple[str, ...]]] = {
    "send_sms": ("twilio", send_sms, ()),
    "invalid_number": ("twilio", invalid_number, ()),
    "verify_flow": ("twilio_verify", verify_flow, VERIFY_REDACT),
}


async def build() -> None:
    """Rewrite every cassette from FakeTwilio's documented answers."""
    for name, (provider, scenario, redact) in SCENARIOS.items():
        path = DIRECTORY / f"{name}.json"
        path.unlink(missing_ok=True)
        cassette = CassetteTransport(
            path,
            mode="once",
            inner=httpx.MockTransport(FakeTwilio()),
            secrets=[AUTH_TOKEN],
            redact_fields=redact,
        )
        with override_transport(cassette):
            async with Hub.from_settings(env="test", sms=sms_section(provider)) as hub:
                await scenario(hub)
        await cassette.aclose()
        print(f"wrote {path}")


if __name__ == "__main__":
    anyio.run(build)
