"""Streamed file transfer with a rich progress bar, for ``hub storage put|get``."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

CHUNK = 1024 * 1024


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


async def read_with_progress(path: Path) -> AsyncIterator[bytes]:
    """Yield a file's chunks, advancing a progress bar; never holds the whole file."""
    size = (await anyio.Path(path).stat()).st_size
    with _progress() as progress:
        task = progress.add_task(f"upload {path.name}", total=size)
        async with await anyio.open_file(path, "rb") as handle:
            while chunk := await handle.read(CHUNK):
                progress.advance(task, len(chunk))
                yield chunk


async def write_with_progress(chunks: AsyncIterable[bytes], path: Path, *, total: int) -> None:
    """Write streamed chunks to ``path`` through a temporary file, then rename it into place."""
    tmp = path.with_name(f".{path.name}.part")
    with _progress() as progress:
        task = progress.add_task(f"download {path.name}", total=total)
        try:
            async with await anyio.open_file(tmp, "wb") as handle:
                async for chunk in chunks:
                    await handle.write(chunk)
                    progress.advance(task, len(chunk))
            await anyio.Path(tmp).replace(path)
        except BaseException:
            await anyio.Path(tmp).unlink(missing_ok=True)
            raise
