"""Atomic file writes for local providers: a crash never leaves half a file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import anyio


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def atomic_write(path: Path, data: bytes) -> None:
    await anyio.to_thread.run_sync(_write, path, data)
