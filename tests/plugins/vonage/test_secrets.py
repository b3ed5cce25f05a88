"""Vonage sends its credentials in the request body: they must reach no error, repr or cassette."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hub_vonage.settings import VonageSettings
from pytest_httpx import HTTPXMock

from hub.errors import HubError
from hub.http import override_transport
from hub.testing.cassettes import CassetteTransport
from hub.testing.pytest_plugin import managed_hub
from tests.plugins.vonage.conftest import MakeHub
from tests.plugins.vonage.fake_vonage import (
    API_KEY,
    API_SECRET,
    SIGNATURE_SECRET,
    FakeVonage,
)

pytestmark = pytest.mark.anyio

URL = "https://rest.nexmo.com/sms/json"
SECRETS = (API_SECRET, SIGNATURE_SECRET)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def everything_about(error: HubError) -> str:
    return " ".join([str(error), repr(error), json.dumps(getattr(error, "raw", None))])


async def test_refusals_carry_no_secret(make_vonage_hub: MakeHub, vonage: FakeVonage) -> None:
    hub = make_vonage_hub()
    vonage.refuse_next("4")
    with pytest.raises(HubError) as caught:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    assert_clean(everything_about(caught.value))


@pytest.mark.parametrize("signed", [False, True], ids=["api_secret", "signed"])
async def test_a_vendor_echoing_the_request_is_redacted(
    make_vonage_hub: MakeHub, httpx_mock: HTTPXMock, signed: bool
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        form = request.content.decode()
        return httpx.Response(
            400, json={"error": f"bad request: {form}", "api_secret": API_SECRET}, text=None
        )

    httpx_mock.add_callback(echo, url=URL)
    section = {"signature_secret": SIGNATURE_SECRET} if signed else {}
    hub = make_vonage_hub(**section)
    with pytest.raises(HubError) as caught:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    text = everything_about(caught.value)
    assert "bad request" in text  # the vendor's words survive, the secrets do not
    assert_clean(text)


async def test_connection_errors_carry_no_secret(
    make_vonage_hub: MakeHub, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_exception(httpx.ConnectError(f"refused api_secret={API_SECRET}"), url=URL)
    hub = make_vonage_hub()
    with pytest.raises(HubError) as caught:
        await hub.sms.send("+14155550100", "Hi", "Acme")
    assert_clean(everything_about(caught.value))


@pytest.mark.parametrize("signed", [False, True], ids=["api_secret", "signed"])
async def test_a_recorded_cassette_holds_no_credential(
    tmp_path: Path, make_vonage_hub: MakeHub, signed: bool
) -> None:
    fake = FakeVonage(signature_secret=SIGNATURE_SECRET)
    # No secrets are told to the cassette: the form fields are redacted by their names alone.
    cassette = CassetteTransport(
        tmp_path / "recorded.json", mode="once", inner=httpx.MockTransport(fake.handle)
    )
    section = {"signature_secret": SIGNATURE_SECRET} if signed else {}
    with override_transport(cassette):
        async with managed_hub(make_vonage_hub(**section), cassette) as hub:
            await hub.sms.send("+14155550100", "Hi", "Acme")
    await cassette.aclose()
    text = (tmp_path / "recorded.json").read_text()
    assert_clean(text)
    assert f"api_key={API_KEY}" not in text
    assert "api_key=<REDACTED>" in text
    assert ("sig=" in text) is signed


def test_settings_and_credentials_reprs_hide_secrets() -> None:
    settings = VonageSettings(
        api_key=API_KEY, api_secret=API_SECRET, signature_secret=SIGNATURE_SECRET
    )
    assert_clean(repr(settings))
    assert_clean(repr(settings.credentials()))
