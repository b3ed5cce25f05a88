"""Local storage: objects are plain files under ``.hub/storage/objects/``, browsable as-is.

Layout under the root: ``objects/<key>`` holds the bytes, ``meta/<sha256 of key>.json`` the
content type, metadata and etag (a flat sidecar, so no key can collide with it) and ``tmp/``
the uploads in flight, which reach ``objects/`` by one ``os.replace``: a failed or cancelled
upload never leaves a partial object behind.

``url(method="GET")`` returns the object's ``file://`` URL, which opens it in a browser or any
tool on this machine; it does not expire (nothing local could enforce that) and nobody else
can use it. Presigned PUT has no local meaning, so ``presigned_put`` is not declared.
"""

from __future__ import annotations

import errno
import hashlib
import json
import mimetypes
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from hub._runtime import ProviderContext
from hub.capabilities.storage import (
    Method,
    ObjectInfo,
    PutReceipt,
    validate_key,
    validate_prefix,
)
from hub.errors import InvalidRequest, NotFound, UnsupportedFeature
from hub.providers.local._files import atomic_write
from hub.settings import ProviderSettings

__all__ = ["LocalStorageProvider", "LocalStorageSettings"]

_PAGE = 1000
_CONFLICTS = {errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENOTEMPTY}


class LocalStorageSettings(ProviderSettings):
    root: Path | None = None


class LocalStorageProvider:
    def __init__(self, settings: LocalStorageSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.root = settings.root or context.data_dir / "storage"
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"

    # -- paths (run in worker threads: they touch the filesystem) ---------------------------

    def _path(self, key: str) -> Path:
        """The file of ``key``; refuses any path that resolves outside ``objects/``."""
        base = self._objects.resolve()
        path = base / key
        if not path.resolve().is_relative_to(base) or path.resolve() == base:
            raise InvalidRequest(
                f"key {key!r} resolves outside the storage root; use forward-slash separated "
                "keys like 'invoices/2024/1.pdf'",
                field="key",
                provider=self.name,
            )
        return path

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def _conflict(self, key: str, exc: OSError) -> InvalidRequest:
        if exc.errno == errno.ENAMETOOLONG:
            why = "a segment is longer than the filesystem allows (255 bytes)"
        else:
            why = "it collides with another key used as a folder (local storage keeps 'a' and "
            why += "'a/b' as a file and a folder, so they cannot both exist)"
        return InvalidRequest(
            f"cannot store key {key!r} locally: {why}", field="key", provider=self.name
        )

    def _info(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            stat = None
        if stat is None or not path.is_file():
            raise NotFound(f"no object with key {key!r}", provider=self.name, status=404)
        try:
            meta: dict[str, Any] = json.loads(self._meta_path(key).read_text("utf-8"))
        except FileNotFoundError:  # a file dropped into objects/ by hand
            meta = {}
        guessed = mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            content_type=meta.get("content_type", guessed),
            metadata=meta.get("metadata", {}),
            etag=meta.get("etag", f"{stat.st_size:x}-{stat.st_mtime_ns:x}"),
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            provider=self.name,
            provider_id=key,
            raw={"path": str(path)},
        )

    def _new_temp(self) -> tuple[int, str]:
        self._tmp.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=self._tmp, suffix=".part")

    def _commit(self, key: str, tmp: str) -> Path:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno in _CONFLICTS or exc.errno == errno.ENAMETOOLONG:
                raise self._conflict(key, exc) from None
            raise
        return path

    def _keys(self, prefix: str) -> list[str]:
        base = self._objects.resolve()
        start = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else base
        found: list[str] = []
        for directory, _, files in os.walk(start):
            for name in files:
                key = (Path(directory) / name).relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)

    def _remove(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError, PermissionError):
            return  # a folder of other keys, or a missing parent: no object by this key
        self._meta_path(key).unlink(missing_ok=True)
        base = self._objects.resolve()
        parent = path.parent
        while parent != base and parent.is_relative_to(base):
            try:
                parent.rmdir()  # only succeeds while empty
            except OSError:
                break
            parent = parent.parent

    def _page(self, keys: list[str]) -> list[ObjectInfo]:
        infos = []
        for key in keys:
            try:
                infos.append(self._info(key))
            except NotFound:  # deleted since the listing
                continue
        return infos

    # -- the provider protocol --------------------------------------------------------------

    async def put(
        self, key: str, data: AsyncIterator[bytes], *, content_type: str, metadata: dict[str, str]
    ) -> PutReceipt:
        validate_key(key)
        await anyio.to_thread.run_sync(self._path, key)
        fd, tmp = await anyio.to_thread.run_sync(self._new_temp)
        etag = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            async with await anyio.open_file(fd, "wb") as handle:
                async for chunk in data:
                    etag.update(chunk)
                    size += len(chunk)
                    await handle.write(chunk)
                await handle.flush()
                await anyio.to_thread.run_sync(os.fsync, fd)
            await anyio.to_thread.run_sync(self._commit, key, tmp)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(tmp).unlink(missing_ok=True)
            raise
        sidecar = {
            "key": key,
            "content_type": content_type,
            "metadata": metadata,
            "etag": etag.hexdigest(),
        }
        await atomic_write(self._meta_path(key), json.dumps(sidecar).encode())
        return PutReceipt(
            provider=self.name,
            provider_id=key,
            key=key,
            size=size,
            etag=etag.hexdigest(),
            content_type=content_type,
            metadata=metadata,
            raw={"path": str(self._objects / key)},
        )

    async def stream(
        self, key: str, *, chunk_size: int, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[bytes]:
        validate_key(key)
        info = await anyio.to_thread.run_sync(self._info, key)
        start, end = byte_range if byte_range is not None else (0, info.size)
        remaining = max(0, min(end, info.size) - start)
        try:
            handle = await anyio.open_file(self._objects / key, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no object with key {key!r}", provider=self.name, status=404) from None
        async with handle:
            if start:
                await handle.seek(start)
            while remaining > 0:
                chunk = await handle.read(min(chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    async def head(self, key: str) -> ObjectInfo:
        validate_key(key)
        return await anyio.to_thread.run_sync(self._info, key)

    async def delete(self, key: str) -> None:
        validate_key(key)
        await anyio.to_thread.run_sync(self._remove, key)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        validate_prefix(prefix)
        keys = await anyio.to_thread.run_sync(self._keys, prefix)
        for offset in range(0, len(keys), _PAGE):
            page = await anyio.to_thread.run_sync(self._page, keys[offset : offset + _PAGE])
            for info in page:
                yield info

    async def url(self, key: str, *, expires_in: float, method: Method) -> str:
        validate_key(key)
        if method != "GET":
            raise UnsupportedFeature(
                "local storage cannot presign uploads; call hub.storage.put() instead",
                feature="presigned_put",
                provider=self.name,
            )
        path = await anyio.to_thread.run_sync(self._path, key)
        return path.as_uri()

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()
