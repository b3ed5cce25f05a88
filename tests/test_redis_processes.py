"""Separate OS processes share one rate limit and one idempotency record through Redis.

Each child is ``python -c CHILD``: it connects and warms up, prints ``ready``, reads a common
start time on stdin (so slow interpreter start-ups do not eat into the measured window), runs,
and prints one JSON line.

The arithmetic of the shared limit: the bucket starts full with BURST tokens, then refills at
RATE a second, so the tokens due inside the window number BURST + RATE * SECONDS = 5 + 200 =
205, inside 200 ± 10% and never above it by construction. The default burst (ceil(50) = 50)
would allow 250. A token counts as made when it was due inside the window.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PROCESSES, RATE, BURST, SECONDS = 4, 50.0, 5, 4.0

CHILD = """
import asyncio, json, os, sys, time
from pydantic import BaseModel
from hub.errors import RateLimited
from hub.resilience.clock import SYSTEM_CLOCK
from hub.resilience.idempotency import IdempotencyGuard
from hub.resilience.policy import IdempotencyPolicy, RateLimitPolicy
from hub.resilience.rate_limit import RateLimiter
from hub.state.redis import RedisStateStore

class Delivery(BaseModel):
    number: int
    pid: int

async def rate(store, start, rate, burst, seconds):
    policy = RateLimitPolicy(rate=rate, burst=burst, max_wait=1.0)
    limiter = RateLimiter("shared", policy, store, SYSTEM_CLOCK)
    deadline, made, refused = start + seconds, 0, 0
    while time.time() < deadline:
        asked = time.time()
        try:
            waited = await limiter.acquire()
        except RateLimited:
            refused += 1  # a wait beyond max_wait: not made
            continue
        made += asked + waited <= deadline  # its token was due inside the window
    return {"made": made, "refused": refused}

async def idempotent(store):
    async def deliver():
        number = await store.incr("deliveries")
        await asyncio.sleep(0.5)  # the vendor is slow: the other process arrives meanwhile
        return Delivery(number=number, pid=os.getpid())
    guard = IdempotencyGuard(IdempotencyPolicy(), store, SYSTEM_CLOCK)
    result, replayed = await guard.run("email.send", "same-key", deliver, Delivery)
    return {"result": result.model_dump(), "replayed": replayed}

async def warm_up(store):
    # anyio imports its asyncio backend on the first sleep (0.1-0.5 s on a busy machine), and
    # a script is loaded on its first call: neither belongs inside the measured window.
    await SYSTEM_CLOCK.sleep(0)
    own = RateLimiter(f"warm-up-{os.getpid()}", RateLimitPolicy(rate=1), store, SYSTEM_CLOCK)
    await own.acquire()

async def main(mode, url, prefix, *args):
    store = RedisStateStore.from_url(url, prefix=prefix)
    await warm_up(store)
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    await asyncio.sleep(max(0.0, start - time.time()))
    if mode == "rate":
        out = await rate(store, start, *map(float, args))
    else:
        out = await idempotent(store)
    await store.aclose()
    print(json.dumps(out), flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, deleted afterwards (never FLUSHDB)."""
    name = f"hubtest:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{name}*"):
        client.delete(key)
    client.close()


def run_children(count: int, *args: str, timeout: float = 60) -> list[dict[str, Any]]:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(count)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == "ready", child.communicate(timeout=timeout)[1]
        start = time.time() + 0.2
        for child in children:  # every child gets the start before any is waited for
            assert child.stdin is not None
            child.stdin.write(f"{start!r}\n")
            child.stdin.flush()
        outputs = []
        for child in children:
            stdout, stderr = child.communicate(timeout=timeout)
            assert child.returncode == 0, stderr
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
        return outputs
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def test_four_processes_share_one_rate_limit(redis_url: str, prefix: str) -> None:
    outputs = run_children(
        PROCESSES, "rate", redis_url, prefix, str(RATE), str(BURST), str(SECONDS)
    )
    made = [out["made"] for out in outputs]
    expected = RATE * SECONDS  # BURST more at most: see the module docstring
    print(f"calls per process {made}, total {sum(made)}, expected {expected:g} ± 10%")
    assert expected * 0.9 <= sum(made) <= expected * 1.1
    assert all(out["refused"] == 0 for out in outputs)  # reservations keep waits short
    assert all(m > 0 for m in made)  # every process got its share


def test_two_processes_with_one_idempotency_key_deliver_once(redis_url: str, prefix: str) -> None:
    first, second = run_children(2, "idempotent", redis_url, prefix)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get(f"{prefix}deliveries") == b"1"
    finally:
        client.close()
    assert first["result"] == second["result"]
    assert sorted([first["replayed"], second["replayed"]]) == [False, True]
