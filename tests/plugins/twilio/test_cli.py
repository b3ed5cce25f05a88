"""The plugin from the command line: discovery, and ``hub sms send`` against a local Twilio."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hub.testing.stub_server import serve
from tests.plugins.twilio.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    MESSAGES_PATH,
    SENDER,
    FakeTwilio,
    form_of,
)

pytestmark = pytest.mark.usefixtures("isolated_env")


def hub_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m hub.cli`` in a fresh process, as the console script runs."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_both_providers_appear_in_hub_plugins_json() -> None:
    result = hub_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    providers = {(p["capability"], p["name"]): p for p in data["providers"]}
    assert set(providers[("sms", "twilio")]["features"]) == {
        "media",
        "status_callback",
        "alphanumeric_sender",
        "sender_pool",
    }
    assert "verification" in providers[("sms", "twilio_verify")]["features"]
    record = next(p for p in data["plugins"] if p["name"] == "twilio")
    assert record["status"] == "ok"
    assert record["distribution"] == "hub-twilio"


def test_discovery_imports_no_provider_module() -> None:
    code = (
        "import sys; from hub.plugins import discover; discover(); "
        "print(sorted(m for m in sys.modules if m.startswith('hub_twilio')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['hub_twilio']"


def test_sms_send_from_the_cli_reaches_twilio_and_prints_the_receipt() -> None:
    fake = FakeTwilio()
    with serve(fake) as base_url:
        result = hub_cli(
            "sms",
            "send",
            "--provider",
            "twilio",
            "--to",
            "+1 415 555 0100",
            "--body",
            "Sent from the CLI",
            "--from",
            SENDER,
            env={
                "HUB_SMS__TWILIO__BASE_URL": base_url,
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            },
        )
    assert result.returncode == 0, result.stderr
    receipt = json.loads(result.stdout)
    assert receipt["provider"] == "twilio"
    assert receipt["provider_id"].startswith("SM")
    assert receipt["to"] == "+14155550100"
    assert receipt["status"] == "queued"
    (request,) = fake.requests
    assert request.url.path == MESSAGES_PATH
    assert dict(form_of(request)) == {
        "To": "+14155550100",
        "Body": "Sent from the CLI",
        "From": SENDER,
    }
    assert AUTH_TOKEN not in result.stdout + result.stderr


def test_sms_send_from_the_cli_explains_a_twilio_refusal() -> None:
    with serve(FakeTwilio()) as base_url:
        result = hub_cli(
            "sms",
            "send",
            "--provider",
            "twilio",
            "--to",
            "+15005550004",
            "--body",
            "hello",
            "--from",
            SENDER,
            env={
                "HUB_SMS__TWILIO__BASE_URL": base_url,
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            },
        )
    assert result.returncode != 0
    assert "21610" in result.stderr
    assert "STOP" in result.stderr
    assert "Traceback" not in result.stderr
