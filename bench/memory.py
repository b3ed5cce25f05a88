"""Streaming a big object through ``hub.storage`` in constant memory: peak RSS per provider.

::

    uv run python bench/memory.py                 # 1 GiB; writes bench/results/memory.json
    uv run python bench/memory.py --size-mb 64    # quicker

Each provider runs in a fresh process that puts ``--size-mb`` of generated data (1 MiB chunks
from an async generator, never held whole) with ``hub.storage.put``, reads it back with
``hub.storage.stream`` and checks size and SHA-256. The figure is that process's peak resident
set (``ru_maxrss``), interpreter and imports included; the RSS before the put is shown too.
Providers: ``local`` (files under a temporary directory) and ``s3`` against moto's server in its
own process (its copy of the object does not count), when the hub-s3 plugin and moto are
installed: at its default multipart settings (5 MiB parts, two in memory), and as
``s3-small-parts`` (5 MiB parts, one in memory), since the plugin holds about
``part_size x upload_concurrency``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.util
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, Result, machine_info, markdown_table, peak_rss_mb

__all__ = ["main"]

MIB = 1024 * 1024
KEY = "bench/big.bin"
BUCKET = "hub-bench"
CREDENTIALS = {"access_key_id": "AKIDBENCHBENCH", "secret_access_key": "moto-not-a-secret"}


async def pattern(size: int, digest: Any) -> AsyncIterator[bytes]:
    """``size`` bytes in 1 MiB chunks that differ from each other, hashed as they go."""
    block = hashlib.sha256(b"hub-bench").digest() * (MIB // 32)
    index, remaining = 0, size
    while remaining > 0:
        piece = (index.to_bytes(8, "big") + block[8:])[: min(MIB, remaining)]
        digest.update(piece)
        remaining -= len(piece)
        index += 1
        yield piece


async def child(provider: str, size: int, url: str | None) -> Result:
    from hub import Hub

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        if provider == "local":
            settings: dict[str, Any] = {"env": "development", "data_dir": tmp}
            settings["storage"] = {"provider": "local"}
        else:
            section: dict[str, Any] = {
                "bucket": BUCKET,
                "region": "us-east-1",
                "endpoint_url": url,
                "addressing_style": "path",
                # moto assembles a multipart object in Python: CompleteMultipartUpload of 1 GiB
                # takes longer than the hub's default 10 s read timeout.
                "http": {"timeout": 300},
                **CREDENTIALS,
            }
            if provider == "s3-small-parts":  # S3's smallest parts, one in memory
                section.update(part_size=5 * MIB, upload_concurrency=1)
            settings = {"env": "development", "data_dir": tmp}
            settings["storage"] = {"provider": "s3", "s3": section}
        async with Hub.from_settings(**settings) as h:
            storage = h.storage
            await storage.put("bench/warm.txt", b"warm-up")  # imports, pools, first call
            before = peak_rss_mb()
            sent = hashlib.sha256()
            started = time.perf_counter()
            await storage.put(KEY, pattern(size, sent), content_type="application/octet-stream")
            put_seconds = time.perf_counter() - started
            got, length = hashlib.sha256(), 0
            started = time.perf_counter()
            async for chunk in storage.stream(KEY):
                got.update(chunk)
                length += len(chunk)
            stream_seconds = time.perf_counter() - started
            await storage.delete(KEY)
    if length != size or got.digest() != sent.digest():
        raise RuntimeError(f"{provider}: read back {length} bytes that differ from what was put")
    return {
        "provider": provider,
        "size": f"{size / MIB / 1024:g} GiB" if size >= 1024 * MIB else f"{size // MIB} MiB",
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "put_mb_s": size / MIB / put_seconds,
        "stream_mb_s": size / MIB / stream_seconds,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 in its own process on 127.0.0.1, with the benchmark's bucket."""
    port = _free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.2)
        request = urllib.request.Request(f"{url}/{BUCKET}", method="PUT")  # noqa: S310
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_child(provider: str, size: int, url: str | None) -> Result:
    command = [sys.executable, __file__, "--child", provider, "--size-mb", str(size // MIB)]
    if url:
        command += ["--url", url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"provider": provider, "skipped": f"failed: {last[:200]}"}
    result: Result = json.loads(lines[-1])
    return result


def section(runs: list[Result]) -> str:
    rows = []
    for run in runs:
        if "skipped" in run:
            rows.append([run["provider"], "", "", "", "", f"skipped: {run['skipped']}"])
            continue
        rows.append(
            [
                run["provider"],
                run["size"],
                f"{run['rss_before_mb']:.0f}",
                f"{run['peak_rss_mb']:.0f}",
                f"{run['put_mb_s']:.0f} / {run['stream_mb_s']:.0f}",
                "",
            ]
        )
    headers = ["provider", "object", "RSS before MB", "peak RSS MB", "put / stream MB/s", ""]
    return (
        "## Streaming memory (`bench/memory.py`)\n\n"
        "One object put with `hub.storage.put` from an async generator and read back with "
        "`hub.storage.stream`, in a fresh process per provider.\n\n" + markdown_table(headers, rows)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Peak RSS while streaming through storage.")
    parser.add_argument("--size-mb", type=int, default=1024, help="object size (default 1 GiB)")
    parser.add_argument("--providers", default="local,s3,s3-small-parts", help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: does it work at all")
    parser.add_argument(
        "--json", type=Path, default=BENCH_DIR / "results" / "memory.json", help="where results go"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mb = 8
    size = args.size_mb * MIB
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, size, args.url))))
        return
    runs: list[Result] = []
    for provider in [p for p in args.providers.split(",") if p]:
        if provider == "local":
            runs.append(run_child("local", size, None))
        elif provider in ("s3", "s3-small-parts"):
            missing = [m for m in ("hub_s3", "moto") if importlib.util.find_spec(m) is None]
            if missing:
                reason = f"{' and '.join(missing)} not installed"
                runs.append({"provider": "s3", "skipped": reason})
                continue
            with moto_server() as url:
                runs.append(run_child(provider, size, url))
        else:
            runs.append({"provider": provider, "skipped": "unknown provider"})
        print(f"{provider}: {runs[-1]}", flush=True)
    markdown = section(runs)
    print(markdown)
    out = {"info": machine_info(), "runs": runs, "markdown": markdown}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
