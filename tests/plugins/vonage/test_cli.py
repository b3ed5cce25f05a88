"""The plugin as a user meets it: listed by `hub plugins`, and `hub sms send --provider vonage`
against a local stand-in of the SMS API on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl

import pytest
from typer.testing import CliRunner

from hub.cli import app
from tests.plugins.vonage.fake_vonage import API_KEY, API_SECRET, answer, ok_part


def test_hub_plugins_lists_the_vonage_provider() -> None:
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    [plugin] = [p for p in data["plugins"] if p["name"] == "vonage"]
    assert plugin["status"] == "ok", plugin["error"]
    assert plugin["distribution"] == "hub-vonage"
    [spec] = [p for p in data["providers"] if (p["capability"], p["name"]) == ("sms", "vonage")]
    assert spec["features"] == ["alphanumeric_sender", "status_callback"]
    assert spec["env_vars"]["api_secret"] == "VONAGE_API_SECRET"
    assert "sms.delivered" in spec["webhook_events"]


class _SmsApi(BaseHTTPRequestHandler):
    """``POST /sms/json`` answered as documented; every form received is kept."""

    received: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
        type(self).received.append({"path": self.path, **form})
        response = answer([ok_part(form.get("to", ""), "0A0000001234567B")])
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def sms_api() -> Iterator[tuple[str, list[dict[str, str]]]]:
    _SmsApi.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SmsApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _SmsApi.received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_hub_sms_send_with_provider_vonage(
    sms_api: tuple[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    base_url, received = sms_api
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "VONAGE_"))}
    env.update(
        HUB_ENV="development",
        HUB_DATA_DIR=str(tmp_path / ".hub"),
        VONAGE_API_KEY=API_KEY,
        VONAGE_API_SECRET=API_SECRET,
        HUB_SMS__VONAGE__BASE_URL=base_url,
        NO_PROXY="127.0.0.1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "sms", "send", "--provider", "vonage",
         "--to", "+44 7700 900000", "--body", "Hello from the CLI", "--from", "AcmeInc"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    receipt = json.loads(result.stdout)
    assert receipt["provider"] == "vonage"
    assert receipt["provider_id"] == "0A0000001234567B"
    assert receipt["to"] == "+447700900000"
    assert receipt["status"] == "queued"
    [sent] = received
    assert sent["path"] == "/sms/json"
    assert (sent["api_key"], sent["api_secret"]) == (API_KEY, API_SECRET)
    assert (sent["from"], sent["to"], sent["text"]) == (
        "AcmeInc",
        "447700900000",
        "Hello from the CLI",
    )
    assert API_SECRET not in result.stdout + result.stderr
