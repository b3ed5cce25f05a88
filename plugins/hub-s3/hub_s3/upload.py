"""Streaming uploads: one PutObject up to ``part_size``, a multipart upload above it.

S3 takes at most 10,000 parts and 5 TiB per object, and the size of a streamed object is not
known in advance, so the part size grows with the part count (:func:`part_size_at`): parts
1-1,000 are ``part_size``, then the size doubles every 900 parts (1,001-1,900 twice it,
1,901-2,800 four times...), up to S3's 5 GiB. From 5 MiB, 5 TiB is reached at part 9,225 and
10,000 parts hold 8.8 TiB (more from bigger parts); more than 5 TiB fails with InvalidRequest as
soon as the source yields the byte past it.

At most ``upload_concurrency`` parts are in memory at once, the one being filled included: a
part is cut only into a buffer whose previous part S3 has acknowledged, so an upload holds
about ``part_size x upload_concurrency`` up to ``part_size x 1,000`` bytes, and above that
``upload_concurrency`` times the current part, which is under a 500th of the bytes already
sent (at most 5 GiB). A multipart upload that fails or is cancelled for any reason is aborted
(shielded from the cancellation), so no orphaned parts stay behind to be billed.

Why the buffers look the way they do (``bench/memory.py``, 1 GiB through moto: 8 MiB parts two
at a time peaked at 148 MB RSS before these three, about 100 MB after):

- Each part is an ``io.BytesIO`` that owns its bytes, written chunk by chunk: botocore sends a
  BytesIO as it is, checksums and signs it 1 MiB at a time, and aiohttp writes it 256 KiB at a
  time. A part handed over as ``bytes`` is copied once more: botocore wraps it in a BytesIO that
  shares the bytes, and aiohttp's ``getbuffer()`` on that un-shares it.
- The caller's chunks are sliced through a ``memoryview`` straight into the part, with no
  ``bytearray`` in between that would hold another part's worth.
- The buffers are reused part after part: a new one per part left glibc's heap with part-sized
  holes (about 13 MB more at the peak). A reused buffer grows as it is written when the
  part size does.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from hub.aws import AwsClient
from hub.errors import InvalidRequest, primary_error
from hub_s3.settings import MAX_PART_SIZE

__all__ = [
    "DOUBLE_EVERY",
    "GROWTH_AFTER",
    "MAX_OBJECT_SIZE",
    "MAX_PARTS",
    "Uploaded",
    "part_size_at",
    "upload",
]

#: S3 accepts at most 10,000 parts per upload and 5 TiB per object.
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024**4
#: Parts cut at ``part_size`` before the size starts doubling, and parts per doubling: chosen
#: so that 10,000 parts from the smallest ``part_size`` (5 MiB) hold more than 5 TiB.
GROWTH_AFTER = 1_000
DOUBLE_EVERY = 900
_ABORT_SECONDS = 30.0
_log = logging.getLogger("hub_s3")


def part_size_at(number: int, part_size: int) -> int:
    """The size of part ``number`` (from 1) of an upload set to ``part_size``: ``part_size``
    up to part ``GROWTH_AFTER``, then twice as much every ``DOUBLE_EVERY`` parts, at most 5 GiB.
    """
    if number <= GROWTH_AFTER:
        return part_size
    doublings = -(-(number - GROWTH_AFTER) // DOUBLE_EVERY)  # ceiling division
    # A shift of 33 is past 5 GiB whatever part_size: a huge number builds no huge int.
    return min(part_size << min(doublings, MAX_PART_SIZE.bit_length()), MAX_PART_SIZE)


@dataclass(slots=True)
class Uploaded:
    """What S3 answered for a finished upload."""

    etag: str
    size: int
    version_id: str | None = None
    parts: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


class _Parts:
    """The caller's chunks, cut into parts of :func:`part_size_at` bytes (the last may be
    shorter).

    Keeps one chunk read past the last part cut, so that ``done`` is known as soon as a part
    is: an object of exactly ``part_size`` is one PutObject, and no upload ends on an empty part.
    """

    def __init__(self, data: AsyncIterator[bytes], part_size: int) -> None:
        self._data = data
        self.part_size = part_size
        self._ahead = memoryview(b"")  # read, not yet in a part: a view, not a copy
        self._eof = False
        self.size = 0
        self.cut_parts = 0

    @property
    def done(self) -> bool:
        return self._eof and not self._ahead

    async def cut(self, part: io.BytesIO) -> io.BytesIO:
        """Fill ``part`` (a new buffer or one whose part S3 already has) with the next part
        (empty only for an empty stream) and rewind it."""
        part.seek(0)
        self.cut_parts += 1
        room = part_size_at(self.cut_parts, self.part_size)
        while room and await self._more():
            piece = self._ahead[:room]
            part.write(piece)
            room -= len(piece)
            self._ahead = self._ahead[len(piece) :]
        part.truncate()  # a reused buffer holding a shorter last part
        await self._more()
        part.seek(0)
        return part

    async def _more(self) -> bool:
        """Whether bytes are left, reading the next non-empty chunk if none is at hand."""
        while not self._ahead and not self._eof:
            try:
                chunk = await anext(self._data)
            except StopAsyncIteration:
                self._eof = True
            else:
                self.size += len(chunk)
                if self.size > MAX_OBJECT_SIZE:
                    raise InvalidRequest(
                        f"the data is over S3's limit of {MAX_OBJECT_SIZE / 1024**4:g} TiB "
                        "per object",
                        field="data",
                    )
                self._ahead = memoryview(chunk)
        return bool(self._ahead)


async def upload(
    aws: AwsClient,
    data: AsyncIterator[bytes],
    *,
    object_params: Mapping[str, Any],
    part_size: int,
    concurrency: int,
) -> Uploaded:
    """Store ``data`` at ``object_params`` (Bucket, Key, ContentType, Metadata, SSE...)."""
    source = _Parts(data, part_size)
    first = await source.cut(io.BytesIO())
    if source.done:
        answer = await aws.call("put_object", {**object_params, "Body": first})
        return Uploaded(
            etag=_etag(answer),
            size=source.size,
            version_id=answer.get("VersionId"),
            raw=_raw(answer),
        )
    created = await aws.call("create_multipart_upload", dict(object_params))
    target = {"Bucket": object_params["Bucket"], "Key": object_params["Key"]}
    upload_id = str(created["UploadId"])
    try:
        with first:  # one of the part buffers: freed with the others once every part is sent
            parts = await _send_parts(
                aws, source, first, {**target, "UploadId": upload_id}, concurrency
            )
        answer = await aws.call(
            "complete_multipart_upload",
            {**target, "UploadId": upload_id, "MultipartUpload": {"Parts": parts}},
        )
    except BaseException:
        await _abort(aws, {**target, "UploadId": upload_id})
        raise
    return Uploaded(
        etag=_etag(answer),
        size=source.size,
        version_id=answer.get("VersionId"),
        parts=len(parts),
        raw={**_raw(answer), "UploadId": upload_id, "Parts": len(parts)},
    )


async def _send_parts(
    aws: AwsClient,
    source: _Parts,
    first: io.BytesIO,
    target: dict[str, Any],
    concurrency: int,
) -> list[dict[str, Any]]:
    """UploadPart for every part, from ``concurrency`` buffers reused part after part; a
    buffer goes back to the pool as soon as its UploadPart returns."""
    etags: dict[int, str] = {}
    free = [io.BytesIO() for _ in range(concurrency - 1)]
    slots = anyio.Semaphore(concurrency)

    async def send(number: int, body: io.BytesIO) -> None:
        try:
            answer = await aws.call("upload_part", {**target, "PartNumber": number, "Body": body})
            etags[number] = str(answer["ETag"])
        finally:
            free.append(body)
            slots.release()

    try:
        async with anyio.create_task_group() as group:
            await slots.acquire()
            group.start_soon(send, 1, first)
            number = 1
            while not source.done:
                await slots.acquire()
                number += 1
                if number > MAX_PARTS:  # only if 10,000 parts of the schedule hold < 5 TiB
                    raise InvalidRequest(
                        f"the upload needs more than S3's limit of {MAX_PARTS} parts",
                        field="data",
                    )
                group.start_soon(send, number, await source.cut(free.pop()))
    except BaseExceptionGroup as group_error:
        raise primary_error(group_error) from None
    return [{"ETag": etags[n], "PartNumber": n} for n in sorted(etags)]


async def _abort(aws: AwsClient, target: dict[str, Any]) -> None:
    """AbortMultipartUpload, even while the caller is being cancelled; never raises."""
    with anyio.CancelScope(shield=True) as scope:
        scope.deadline = anyio.current_time() + _ABORT_SECONDS
        try:
            await aws.call("abort_multipart_upload", target)
        except Exception as exc:
            _log.warning(
                "%s: could not abort multipart upload %s of %r (%s); S3 keeps its parts "
                "until a lifecycle rule (AbortIncompleteMultipartUpload) removes them",
                aws.provider,
                target["UploadId"],
                target["Key"],
                exc,
            )
    if scope.cancelled_caught:
        _log.warning(
            "%s: aborting multipart upload %s of %r timed out",
            aws.provider,
            target["UploadId"],
            target["Key"],
        )


def _etag(answer: Mapping[str, Any]) -> str:
    return str(answer.get("ETag") or "").strip('"')


def _raw(answer: Mapping[str, Any]) -> dict[str, Any]:
    meta = answer.get("ResponseMetadata", {})
    raw = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    if meta.get("RequestId"):
        raw["RequestId"] = meta["RequestId"]
    return raw
