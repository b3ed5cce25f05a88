"""What the storage plugins' tests share: local servers on 127.0.0.1, big deterministic
streams and a peak-memory meter.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MIB = 1024 * 1024
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_answers(url: str, process: subprocess.Popen[bytes], *, seconds: float = 30) -> None:
    """Poll ``url`` until anything answers over HTTP; fail if the server died first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            httpx.get(url, timeout=1)
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within {seconds} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def moto_server_process() -> Iterator[str]:
    """moto's server in a child process, so what it buffers does not count as ours."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{url}/moto-api/", process)
        yield url
    finally:
        stop(process)


@dataclass
class Pattern:
    """``size`` bytes in ``chunk``-sized pieces that differ from each other, hashed on the way."""

    size: int
    chunk: int = MIB
    sent: hashlib._Hash = field(default_factory=hashlib.sha256)

    async def chunks(self) -> AsyncIterator[bytes]:
        seed = hashlib.sha256(b"hub-storage-pattern").digest()
        block = seed * (self.chunk // len(seed) + 1)
        index, remaining = 0, self.size
        while remaining > 0:
            # Vary each chunk cheaply: a header with its index over a fixed block.
            piece = (index.to_bytes(8, "big") + block)[: min(self.chunk, remaining)]
            self.sent.update(piece)
            remaining -= len(piece)
            index += 1
            yield piece


class PeakMemory:
    """Resident memory this process adds at its peak inside the ``with`` block (Linux).

    The kernel's high-water mark (VmHWM) is reset on entry by writing 5 to
    /proc/self/clear_refs, so the peak is this block's, not the session's.
    """

    def __init__(self) -> None:
        self.baseline_kib = 0
        self.peak_kib = 0

    @staticmethod
    def available() -> bool:
        return _STATUS.exists() and os.access(_CLEAR_REFS, os.W_OK)

    def __enter__(self) -> PeakMemory:
        _CLEAR_REFS.write_text("5")
        self.baseline_kib = _status("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_kib = _status("VmHWM")

    @property
    def added_mib(self) -> float:
        return (self.peak_kib - self.baseline_kib) / 1024


def _status(name: str) -> int:
    match = re.search(rf"^{name}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    assert match is not None, f"{name} missing from {_STATUS}"
    return int(match.group(1))
