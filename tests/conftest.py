"""Shared fixtures: the async backend, the email hubs of the capability tests, the real local
services (Redis, PostgreSQL) and a StateStore on each backend."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import hub
from hub.state import StateStore
from hub.state.memory import MemoryStateStore
from hub.testing.clock import FakeClock

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["local", "fake"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[hub.Hub]:
    """A hub whose email goes to ``local`` (development) or ``fake`` (test), with a sender.

    Modules with a hub of their own define their own ``h``, which takes precedence."""
    env = "development" if request.param == "local" else "test"
    settings = hub.HubSettings.load(
        env=env, data_dir=tmp_path, email={"default_from": "Shop <shop@example.com>"}
    )
    async with hub.Hub(settings) as instance:
        yield instance


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server tests share (db 15 by default); skips with how-to when it is absent."""
    if not _answers(REDIS_URL, 6379):
        pytest.skip(
            f"Redis not reachable at {REDIS_URL}: start it with `redis-server --daemonize yes "
            "--port 6379 --save '' --appendonly no` or set REDIS_URL"
        )
    return REDIS_URL


@pytest.fixture(scope="session")
def database_url() -> str:
    """The PostgreSQL server tests share; skips with how-to when it is absent."""
    if not _answers(DATABASE_URL, 5432):
        pytest.skip(
            f"PostgreSQL not reachable at {DATABASE_URL}: start it with `pg_ctlcluster "
            "--skip-systemctl-redirect $(ls /etc/postgresql) main start` or set DATABASE_URL"
        )
    return DATABASE_URL


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    """Run in an empty directory with no HUB_* variables, so settings come only from the test."""
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    """The controllable clock a test drives; modules may override it."""
    return FakeClock()


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
async def state_store(
    request: pytest.FixtureRequest, clock: FakeClock
) -> AsyncIterator[StateStore]:
    """A StateStore on each backend: memory (driven by ``clock``) and the real Redis.

    Redis keys live under a prefix of their own, deleted afterwards. Run a test on one backend
    with ``@pytest.mark.parametrize("state_store", ["redis"], indirect=True)``.
    """
    if request.param == "memory":
        yield MemoryStateStore(clock=clock)
        return
    from hub.state.redis import RedisStateStore

    url: str = request.getfixturevalue("redis_url")
    prefix = f"hubtest:{uuid.uuid4().hex}:"
    store = RedisStateStore.from_url(url, prefix=prefix)
    try:
        yield store
    finally:
        async for key in store.client.scan_iter(match=f"{prefix}*"):
            await store.client.delete(key)
        await store.aclose()
