"""Storage: object keys and models, the provider protocol and the ``hub.storage`` facade.

Bodies travel as async iterators of chunks in both directions, so a 5 GB upload or download
never sits in memory. Keys follow the rules every backend can honour (S3, GCS, a filesystem):
see :func:`validate_key`.
"""

from __future__ import annotations

import builtins
import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

import anyio
from pydantic import BaseModel, ConfigDict, Field

from hub.capabilities._models import Receipt
from hub.capabilities._service import Service
from hub.errors import HubError, InvalidRequest

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FEATURES",
    "ObjectInfo",
    "PutReceipt",
    "StorageProvider",
    "StorageService",
    "fixed_parts",
    "validate_key",
    "validate_prefix",
]

#: Optional features a storage provider may declare in its ProviderSpec.
FEATURES = frozenset({"presigned_urls", "presigned_put", "metadata", "ranged_reads", "multipart"})

DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_KEY_BYTES = 1024
#: The longest presigned URL S3 and GCS sign (SigV4 / V4 signing): seven days.
MAX_URL_SECONDS = 7 * 24 * 3600
#: S3 refuses user metadata above 2 KB in total; we hold every provider to it.
MAX_METADATA_BYTES = 2048

_KEY_HINT = "use forward-slash separated keys like 'invoices/2024/1.pdf'"
_METADATA_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+\-\"]+)*$")

Method = Literal["GET", "PUT"]
T = TypeVar("T")


def _check_path(value: str, *, what: str, partial_last: bool) -> None:
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidRequest(f"{what} is longer than {MAX_KEY_BYTES} bytes of UTF-8", field=what)
    if value.startswith("/"):
        raise InvalidRequest(f"{what} {value!r} starts with '/'; {_KEY_HINT}", field=what)
    if "\\" in value:
        raise InvalidRequest(f"{what} {value!r} contains a backslash; {_KEY_HINT}", field=what)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InvalidRequest(
            f"{what} {value!r} contains a NUL or control character; {_KEY_HINT}", field=what
        )
    segments = value.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "..":
            raise InvalidRequest(
                f"{what} {value!r} contains a '..' segment; {_KEY_HINT}", field=what
            )
        if segment in ("", ".") and not (partial_last and last):
            raise InvalidRequest(
                f"{what} {value!r} has an empty or '.' segment (a trailing or doubled '/'?); "
                f"{_KEY_HINT}",
                field=what,
            )


def validate_key(key: str) -> str:
    """Return ``key`` if every backend can store it, else raise InvalidRequest saying why.

    Beyond the obvious (non-empty, at most 1024 bytes, no leading ``/``, no ``..``, no ``\\``,
    no control characters) empty and ``.`` segments are refused too: a filesystem would map
    ``a//b`` and ``a/./b`` onto ``a/b``, so two keys would share one object.
    """
    if not isinstance(key, str):
        raise InvalidRequest(
            f"an object key must be a string, not {type(key).__name__}", field="key"
        )
    if not key:
        raise InvalidRequest(f"an object key may not be empty; {_KEY_HINT}", field="key")
    _check_path(key, what="key", partial_last=False)
    return key


def validate_prefix(prefix: str) -> str:
    """Like :func:`validate_key`, but empty is allowed and the last segment may be partial."""
    if not isinstance(prefix, str):
        raise InvalidRequest(
            f"a prefix must be a string, not {type(prefix).__name__}", field="prefix"
        )
    if prefix:
        _check_path(prefix, what="prefix", partial_last=True)
    return prefix


def validate_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """User metadata travels as HTTP headers at most vendors: ASCII-safe, lower-case keys."""
    if not metadata:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidRequest("metadata must be a dict of strings to strings", field="metadata")
    total = 0
    for name, value in metadata.items():
        if not isinstance(name, str) or not _METADATA_KEY.match(name):
            raise InvalidRequest(
                f"metadata key {name!r} must be lower-case ASCII letters, digits, '-' or '_' "
                "(vendors send it as a header and lower-case it), e.g. 'customer-id'",
                field="metadata",
            )
        if not isinstance(value, str) or not all(0x20 <= ord(c) < 0x7F for c in value):
            raise InvalidRequest(
                f"metadata value of {name!r} must be a printable ASCII string; encode other "
                "text (e.g. urllib.parse.quote) before storing it",
                field="metadata",
            )
        total += len(name) + len(value)
    if total > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"metadata totals {total} bytes; vendors allow {MAX_METADATA_BYTES}: store large "
            "values as an object of their own",
            field="metadata",
        )
    return dict(metadata)


def _content_type(key: str, given: str | None, *, text: bool) -> str:
    if given is not None:
        if not _CONTENT_TYPE.match(given):
            raise InvalidRequest(
                f"content_type {given!r} is not a media type like 'application/pdf'",
                field="content_type",
            )
        return given
    guessed = mimetypes.guess_type(key, strict=False)[0]
    if guessed:
        return guessed
    return "text/plain; charset=utf-8" if text else "application/octet-stream"


class ObjectInfo(BaseModel):
    """What a provider knows about one stored object (``head``, ``list``)."""

    model_config = ConfigDict(frozen=True)

    key: str
    size: int
    content_type: str
    metadata: dict[str, str] = Field(default_factory=dict)
    etag: str
    last_modified: datetime
    provider: str
    provider_id: str | None = None
    raw: Any = Field(None, repr=False)


class PutReceipt(Receipt):
    """The outcome of one ``put``; ``checksum`` is the SHA-256 (hex) of the bytes the hub sent."""

    key: str
    size: int
    etag: str
    checksum: str = ""
    content_type: str
    metadata: dict[str, str] = Field(default_factory=dict)


@runtime_checkable
class StorageProvider(Protocol):
    """What a storage vendor implements.

    ``stream`` and ``list`` are async generators; they raise (e.g. NotFound) when first
    iterated. ``url`` is needed only with the ``presigned_urls`` / ``presigned_put`` features,
    ``byte_range`` (half-open ``(start, end)``) only with ``ranged_reads``.
    """

    async def put(
        self, key: str, data: AsyncIterator[bytes], *, content_type: str, metadata: dict[str, str]
    ) -> PutReceipt: ...

    def stream(
        self, key: str, *, chunk_size: int, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[bytes]: ...

    async def head(self, key: str) -> ObjectInfo: ...

    async def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> AsyncIterator[ObjectInfo]: ...

    async def url(self, key: str, *, expires_in: float, method: Method) -> str: ...

    async def aclose(self) -> None: ...


class _Body:
    """One attempt's view of the upload: the chunks, hashed and counted as they pass."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.digest = hashlib.sha256()
        self.size = 0
        #: A chunk was asked for: a one-shot source can no longer be sent whole.
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self._chunks:
            if isinstance(chunk, bytearray | memoryview):
                chunk = bytes(chunk)
            if not isinstance(chunk, bytes):
                raise InvalidRequest(
                    f"an upload stream yielded {type(chunk).__name__}; yield bytes",
                    field="data",
                )
            self.digest.update(chunk)
            self.size += len(chunk)
            yield chunk


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _read_file(path: Path, chunk_size: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(chunk_size):
            yield chunk


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def _source(data: Any) -> tuple[Callable[[], AsyncIterator[bytes]], bool, bool]:
    """``(open a fresh chunk iterator, replayable, is_text)`` for whatever ``put`` was given."""
    if isinstance(data, str):
        encoded = data.encode("utf-8")
        return (lambda: _one(encoded)), True, True
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        return (lambda: _one(raw)), True, False
    if isinstance(data, os.PathLike):
        path = Path(data)
        if not path.is_file():
            raise InvalidRequest(f"{str(path)!r} is not a readable file", field="data")
        return (lambda: _read_file(path, DEFAULT_CHUNK_SIZE)), True, False
    if isinstance(data, AsyncIterable):
        iterator = aiter(data)
        return (lambda: iterator), False, False
    raise InvalidRequest(
        f"cannot store {type(data).__name__}; pass bytes, str (stored as UTF-8), a pathlib.Path "
        "or an async iterable of bytes",
        field="data",
    )


class StorageService(Service[StorageProvider]):
    """``hub.storage``: validates keys and metadata, streams bodies, maps misses to NotFound.

    Whole calls (``put``, ``head``, ``delete``, ``url``) go through the pipeline. ``stream``
    and ``list`` are async generators, which a retry cannot wrap: their *opening* (creating
    the provider's iterator and awaiting its first item, where NotFound or an outage shows
    up) runs through the pipeline, and the rest is read from the provider that answered. A
    failure mid-way is raised to the caller, who can resume with ``byte_range``.
    """

    capability = "storage"

    async def put(
        self,
        key: str,
        data: bytes | str | os.PathLike[str] | AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> PutReceipt:
        """Store an object. ``str`` is stored as UTF-8 text; a path is streamed from disk.

        bytes, text and paths are retried like any idempotent write; an async iterable can be
        read only once, so a failure after its first chunk is final. An upload is not cut off by
        the attempt timeout or the total deadline (it runs as long as data flows); a stalled
        connection ends on the HTTP read timeout.
        """
        validate_key(key)
        meta = validate_metadata(metadata)
        opener, replayable, text = _source(data)
        ctype = _content_type(key, content_type, text=text)
        consumed = False

        async def invoke(provider: StorageProvider) -> PutReceipt:
            nonlocal consumed
            if consumed and not replayable:
                raise InvalidRequest(
                    "the upload stream was consumed by a failed attempt and cannot be replayed; "
                    "pass bytes or a path to let the hub retry",
                    field="data",
                )
            body = _Body(opener())
            try:
                receipt = await provider.put(key, aiter(body), content_type=ctype, metadata=meta)
            except HubError as exc:
                if body.started and not replayable:
                    # Nobody can send these bytes again: this error is final.
                    exc.retryable = exc.failover_safe = False
                raise
            finally:
                consumed = consumed or body.started
            return receipt.model_copy(update={"checksum": body.digest.hexdigest()})

        return await self._call(
            "put",
            invoke,
            idempotent=replayable,
            streaming=True,
            features=["metadata"] if meta else [],
        )

    async def get(self, key: str) -> bytes:
        """The whole object in memory; prefer :meth:`stream` or :meth:`download` for big ones."""
        return b"".join([chunk async for chunk in self.stream(key)])

    async def stream(
        self,
        key: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        byte_range: tuple[int, int] | None = None,
    ) -> AsyncIterator[bytes]:
        """Yield the object in chunks; ``byte_range=(start, end)`` reads ``[start, end)`` only."""
        validate_key(key)
        if chunk_size < 1:
            raise InvalidRequest(
                "chunk_size must be a positive number of bytes", field="chunk_size"
            )
        if byte_range is not None:
            start, end = byte_range
            if not 0 <= start <= end:
                raise InvalidRequest(
                    f"byte_range {byte_range!r} must be (start, end) with 0 <= start <= end",
                    field="byte_range",
                )
        iterator, first = await self._open(
            "stream",
            lambda p: p.stream(key, chunk_size=chunk_size, byte_range=byte_range),
            features=["ranged_reads"] if byte_range is not None else [],
        )
        try:
            if first is not None:
                yield first
                async for chunk in iterator:
                    yield chunk
        finally:
            await _aclose(iterator)

    async def head(self, key: str) -> ObjectInfo:
        validate_key(key)
        return await self._call("head", lambda p: p.head(key), idempotent=True)

    async def delete(self, key: str) -> None:
        """Delete an object; deleting one that does not exist is not an error."""
        validate_key(key)
        await self._call("delete", lambda p: p.delete(key), idempotent=True)

    async def url(
        self, key: str, expires_in: float | timedelta = 3600, method: Method = "GET"
    ) -> str:
        """A URL that lets its bearer ``GET`` (or ``PUT``) this one object until it expires."""
        validate_key(key)
        seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
        if not 0 < seconds <= MAX_URL_SECONDS:
            raise InvalidRequest(
                f"expires_in must be between 0 and {MAX_URL_SECONDS} seconds (7 days, the "
                "longest S3 and GCS sign)",
                field="expires_in",
            )
        if method not in ("GET", "PUT"):
            raise InvalidRequest(f"method must be 'GET' or 'PUT', not {method!r}", field="method")
        feature = "presigned_urls" if method == "GET" else "presigned_put"
        return await self._call(
            "url",
            lambda p: p.url(key, expires_in=float(seconds), method=method),
            idempotent=True,
            features=[feature],
        )

    async def download(self, key: str, path: str | os.PathLike[str]) -> Path:
        """Stream an object into ``path``; the file appears whole or not at all."""
        target = Path(path)
        fd, tmp_name = await anyio.to_thread.run_sync(
            lambda: tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        )
        tmp = anyio.Path(tmp_name)
        try:
            async with await anyio.open_file(fd, "wb", closefd=True) as handle:
                async for chunk in self.stream(key):
                    await handle.write(chunk)
                await handle.flush()
                await anyio.to_thread.run_sync(os.fsync, fd)
            await tmp.replace(target)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await tmp.unlink(missing_ok=True)
            raise
        return target

    async def _open(
        self,
        operation: str,
        start: Callable[[StorageProvider], AsyncIterator[T]],
        *,
        features: Iterable[str] = (),
    ) -> tuple[AsyncIterator[T], T | None]:
        """Open a provider iterator and await its first item inside the pipeline."""

        async def invoke(provider: StorageProvider) -> tuple[AsyncIterator[T], T | None]:
            iterator = start(provider)
            try:
                return iterator, await anext(iterator)
            except StopAsyncIteration:
                return iterator, None
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await _aclose(iterator)
                raise

        opened: Awaitable[tuple[AsyncIterator[T], T | None]] = self._call(
            operation, invoke, idempotent=True, features=features
        )
        return await opened

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order (paged by the provider)."""
        validate_prefix(prefix)
        iterator, first = await self._open("list", lambda p: p.list(prefix))
        try:
            if first is not None:
                yield first
                async for info in iterator:
                    yield info
        finally:
            await _aclose(iterator)

    async def keys(self, prefix: str = "") -> builtins.list[str]:
        """The keys under ``prefix``, sorted: a convenience over :meth:`list`."""
        return [info.key async for info in self.list(prefix)]


async def fixed_parts(data: AsyncIterator[bytes], size: int) -> AsyncIterator[tuple[bytes, bool]]:
    """Re-cut a stream into ``(piece, is_last)`` pieces of exactly ``size`` bytes for vendors
    that upload in parts (blocks, resumable chunks); the last piece is shorter, or empty for an
    empty stream, and is never called last before the stream has ended."""
    buffer = bytearray()
    async for chunk in data:
        buffer += chunk
        while len(buffer) > size:
            with memoryview(buffer) as view:
                piece = bytes(view[:size])  # one copy, not two
            del buffer[:size]
            yield piece, False
    yield bytes(buffer), True
