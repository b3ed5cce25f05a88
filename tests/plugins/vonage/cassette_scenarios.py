"""The Vonage cassettes: what each one sends, and how to rebuild them from the documentation.

The cassettes under ``cassettes/vonage/`` were recorded through
:class:`hub.testing.cassettes.CassetteTransport` with :class:`FakeVonage` (the SMS API's
documented answers) as the network, keeping Vonage's real base URL, so each holds exactly the
request the plugin builds. Rebuild them with::

    uv run python -m tests.plugins.vonage.cassette_scenarios

With real credentials (``VONAGE_API_KEY``, ``VONAGE_API_SECRET``, ``VONAGE_SIGNATURE_SECRET``)
delete a cassette and run its test with ``HUB_RECORD_MODE=once`` instead; the refusals
(``send_throttled``, ``send_bad_credentials``) can only be rebuilt from the documentation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from hub.core import Hub
from hub.errors import HubError
from hub.http import override_transport
from hub.resilience.clock import Clock
from hub.testing.cassettes import CassetteTransport
from hub.testing.clock import FakeClock
from tests.plugins.vonage.fake_vonage import API_KEY, API_SECRET, SIGNATURE_SECRET, FakeVonage

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes"
#: A signed request's ``sig`` and ``timestamp`` change with the clock: matched by name only.
SIGNED_FIELDS = ("sig", "timestamp")


@dataclass(frozen=True)
class Scenario:
    """One cassette: the provider section, the message, and the status Vonage answers."""

    settings: dict[str, Any]
    message: dict[str, Any]
    refuse: str | None = None
    redact_fields: tuple[str, ...] = ()
    signature_method: str = "md5hash"
    extra: dict[str, Any] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    "send_text": Scenario(
        settings={},
        message={
            "to": "+447700900000",
            "body": "Your Acme order 42 has shipped.",
            "sender": "AcmeInc",
            "status_callback": "https://example.com/webhooks/vonage",
            "metadata": {"order": "42"},
        },
    ),
    "send_unicode_signed": Scenario(
        settings={"signature_method": "sha256"},
        message={
            "to": "+4930901820",
            "body": "Grüße aus Köln! Ihre Bestellung 42 ist unterwegs 🚚 " * 2,
            "sender": "+447700900001",
        },
        redact_fields=SIGNED_FIELDS,
        signature_method="sha256",
    ),
    "send_throttled": Scenario(
        settings={}, message={"to": "+14155550100", "body": "Hi", "sender": "AcmeInc"}, refuse="1"
    ),
    "send_bad_credentials": Scenario(
        settings={}, message={"to": "+14155550100", "body": "Hi", "sender": "AcmeInc"}, refuse="4"
    ),
}


def credentials(scenario: Scenario) -> dict[str, Any]:
    """The provider section: real credentials from the environment when set, else fakes."""
    section: dict[str, Any] = {
        "api_key": os.environ.get("VONAGE_API_KEY", API_KEY),
        "api_secret": os.environ.get("VONAGE_API_SECRET", API_SECRET),
        **scenario.settings,
    }
    if scenario.redact_fields:
        section["signature_secret"] = os.environ.get("VONAGE_SIGNATURE_SECRET", SIGNATURE_SECRET)
    return section


def make_hub(scenario: Scenario, data_dir: Path, clock: Clock | None) -> Hub:
    return Hub.from_settings(
        env="test",
        data_dir=data_dir,
        state={"url": "memory://"},
        clock=clock,
        sms={
            "provider": "vonage",
            "providers": ["vonage"],
            "vonage": credentials(scenario),
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        },
    )


async def record(name: str, scenario: Scenario, data_dir: Path) -> None:
    """Rebuild one cassette from FakeVonage's documented answers."""
    fake = FakeVonage(signature_secret=SIGNATURE_SECRET, signature_method=scenario.signature_method)  # type: ignore[arg-type]
    if scenario.refuse is not None:
        fake.refuse_next(scenario.refuse)
    path = CASSETTES / "vonage" / f"{name}.json"
    path.unlink(missing_ok=True)
    cassette = CassetteTransport(
        path,
        mode="once",
        inner=httpx.MockTransport(fake.handle),
        secrets=[API_SECRET, SIGNATURE_SECRET],
        redact_fields=scenario.redact_fields,
    )
    with override_transport(cassette):
        async with make_hub(scenario, data_dir, FakeClock()) as hub:
            try:
                await hub.sms.send(scenario.message, idempotency_key=f"cassette-{name}")
            except HubError as exc:
                print(f"{name}: {type(exc).__name__}: {exc}")
    await cassette.aclose()
    print(f"wrote {path}")


async def main() -> None:
    with __import__("tempfile").TemporaryDirectory() as tmp:
        for name, scenario in SCENARIOS.items():
            await record(name, scenario, Path(tmp))


if __name__ == "__main__":
    anyio.run(main)
