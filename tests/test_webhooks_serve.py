"""The receiver under a real uvicorn on 127.0.0.1, over real HTTP; and the `hub serve` command."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn

from hub import Hub, HubSettings
from hub.errors import ConfigurationError
from hub.plugins import default_registry, discover
from hub.testing.webhooks import signed_request, with_webhooks
from hub.webhooks.app import create_app
from hub.webhooks.builtin import HANDLER
from hub.webhooks.events import HubEvent
from hub.webhooks.server import serve, server_config

LIMIT = 4096


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_hub() -> Hub:
    registry = with_webhooks(discover(include_installed=False), {"fake": HANDLER})
    settings = HubSettings.load(env="test", webhooks={"max_body_bytes": LIMIT})
    return Hub(settings, registry=registry)


@contextlib.asynccontextmanager
async def running(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """uvicorn serving ``create_app(hub)`` on a free 127.0.0.1 port; a client pointed at it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(hub.settings, create_app(hub), log_config=None, log_level="warning")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
                await anyio.sleep(0.02)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False
            ) as client:
                yield client
        finally:
            server.should_exit = True
    sock.close()


def bounce(event_id: str) -> HubEvent:
    return HubEvent(
        type="email.bounced", provider="fake", capability="email", provider_event_id=event_id,
        recipient="ada@example.com", bounce_type="soft",
    )  # fmt: skip


@pytest.mark.anyio
async def test_real_server_runs_handlers_once_and_refuses_bad_requests(isolated_env: None) -> None:
    async with make_hub() as hub:
        seen: list[str] = []
        failures = [RuntimeError("first try fails")]

        @hub.on("email.bounced")
        async def record(e: HubEvent) -> None:
            if e.provider_event_id == "flaky" and failures:
                raise failures.pop()
            seen.append(e.provider_event_id)

        async with running(hub) as client:
            good = signed_request(hub, "fake", bounce("evt_1"))
            responses = [
                await client.post("/webhooks/fake", content=good.body, headers=good.headers)
                for _ in range(3)  # the vendor redelivers twice
            ]
            assert [r.status_code for r in responses] == [200, 200, 200]
            assert [r.json()["duplicates"] for r in responses] == [0, 1, 1]

            forged = good.body.replace(b"soft", b"hard")
            bad = await client.post("/webhooks/fake", content=forged, headers=good.headers)
            assert (bad.status_code, bad.json()) == (400, {"error": "invalid webhook"})

            big = signed_request(hub, "fake", b"[" + b" " * LIMIT + b"]")
            too_big = await client.post("/webhooks/fake", content=big.body, headers=big.headers)
            assert (too_big.status_code, too_big.json()) == (413, {"error": "body too large"})

            async def chunked() -> AsyncIterator[bytes]:
                for _ in range(8):
                    yield b" " * 1024

            streamed = await client.post("/webhooks/fake", content=chunked())
            assert streamed.status_code == 413

            flaky = signed_request(hub, "fake", bounce("flaky"))
            first = await client.post("/webhooks/fake", content=flaky.body, headers=flaky.headers)
            retry = await client.post("/webhooks/fake", content=flaky.body, headers=flaky.headers)
            assert (first.status_code, retry.status_code) == (500, 200)

            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert (await client.post("/webhooks/nope", content=b"{}")).status_code == 404
        assert seen == ["evt_1", "flaky"]


# -- the `hub serve` command, as operators run it ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def hub_serve(cwd: Path, *args: str, **env: str) -> Iterator[httpx.Client]:
    """Run ``hub serve --port <free> *args`` in ``cwd``; ``args`` may replace the command."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    command = ["-m", "hub.cli", "serve", "--port", str(port), *args]
    if args and args[0] == "-c":
        command, env = list(args), {**env, "HUB_WEBHOOKS__PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, *command],
        cwd=cwd,
        env={**clean, "HUB_ENV": "test", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        output = proc.stdout.read().decode() if proc.stdout else ""
                        pytest.fail(f"`hub serve` did not start:\n{output}")
                    time.sleep(0.1)
            yield client
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _check_serving(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "# TYPE" in client.get("/metrics").text
    assert client.post("/webhooks/nope", content=b"{}").status_code == 404
    # 400 once the built-in providers declare their webhook handler, 404 until then.
    has_hook = default_registry().webhook_provider("fake") is not None
    unsigned = client.post("/webhooks/fake", content=b"{}")
    assert unsigned.status_code == (400 if has_hook else 404)


@pytest.mark.slow
def test_hub_serve_command(isolated_env: None, tmp_path: Path) -> None:
    with hub_serve(tmp_path) as client:
        _check_serving(client)


@pytest.mark.slow
@pytest.mark.redis
def test_hub_serve_with_workers_shares_redis(
    isolated_env: None, tmp_path: Path, redis_url: str
) -> None:
    with hub_serve(tmp_path, "--workers", "2", HUB_STATE__URL=redis_url) as client:
        for _ in range(4):  # whichever worker answers
            _check_serving(client)


# serve() as `hub serve` runs it, with the app's handlers module and the fake provider's webhook
# handler (patched into the registry until the built-in ProviderSpecs declare it).
SERVER_SCRIPT = f"""
from hub.plugins import default_registry
from hub.testing.webhooks import with_webhooks
registry = default_registry()
registry.providers.update(with_webhooks(registry, {{"fake": "{HANDLER}"}}).providers)
from hub.webhooks.server import serve
serve(handlers=["app_handlers:register"])
"""

HANDLERS_MODULE = """
import os, pathlib

def register(hub):
    @hub.on("email.*")
    async def record(event):
        with pathlib.Path(os.environ["EVENTS_FILE"]).open("a") as f:
            f.write(event.type + " " + event.provider_event_id + "\\n")
"""


@pytest.mark.slow
@pytest.mark.anyio
async def test_serve_runs_the_apps_handlers_over_real_http(
    isolated_env: None, tmp_path: Path
) -> None:
    (tmp_path / "app_handlers.py").write_text(HANDLERS_MODULE)
    events_file = tmp_path / "events.txt"
    env = {
        "PYTHONPATH": str(tmp_path),
        "EVENTS_FILE": str(events_file),
        "HUB_WEBHOOKS__MAX_BODY_BYTES": str(LIMIT),
    }
    async with make_hub() as hub:  # signs as the fake provider's webhook would
        with hub_serve(tmp_path, "-c", SERVER_SCRIPT, **env) as client:
            good = signed_request(hub, "fake", bounce("evt_1"))
            statuses = [
                client.post("/webhooks/fake", content=good.body, headers=good.headers).json()
                for _ in range(3)
            ]
            assert statuses == [{"received": 1, "duplicates": n} for n in (0, 1, 1)]
            forged = good.body.replace(b"soft", b"hard")
            bad = client.post("/webhooks/fake", content=forged, headers=good.headers)
            assert bad.status_code == 400
            big = signed_request(hub, "fake", b"[" + b" " * LIMIT + b"]")
            assert (
                client.post("/webhooks/fake", content=big.body, headers=big.headers).status_code
                == 413
            )
    assert events_file.read_text().splitlines() == ["email.bounced evt_1"]


def test_serve_refuses_workers_without_a_shared_state_store(isolated_env: None) -> None:
    settings = HubSettings.load(env="test", webhooks={"workers": 2})
    with pytest.raises(ConfigurationError, match="HUB_STATE__URL=redis"):
        serve(settings)


def test_server_config_takes_host_port_workers_from_settings(isolated_env: None) -> None:
    settings = HubSettings.load(webhooks={"host": "127.0.0.2", "port": 9123, "workers": 3})
    config = server_config(settings, "hub.webhooks.server:app_factory", factory=True)
    assert (config.host, config.port, config.workers) == ("127.0.0.2", 9123, 3)
    default = server_config(HubSettings.load(), "x:y")
    assert (default.host, default.port) == ("127.0.0.1", 8000)
