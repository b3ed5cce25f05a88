"""Streaming uploads: one PutObject up to ``part_size``, a multipart upload above it.

Parts are cut from the stream as it arrives and sent while the next one fills, at most
``upload_concurrency`` at once, so memory stays bounded whatever the object's size (measured:
about four times ``part_size`` per part in flight, counting botocore's and the socket's
copies). A multipart upload that fails or is cancelled for any reason is
aborted (shielded from the cancellation), so no orphaned parts stay behind to be billed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from hub.aws import AwsClient
from hub.errors import InvalidRequest, primary_error

__all__ = ["MAX_PARTS", "Uploaded", "upload"]

#: S3 accepts at most 10,000 parts per upload.
MAX_PARTS = 10_000
_ABORT_SECONDS = 30.0
_log = logging.getLogger("hub_s3")


@dataclass(slots=True)
class Uploaded:
    """What S3 answered for a finished upload."""

    etag: str
    size: int
    version_id: str | None = None
    parts: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


class _Source:
    """The caller's chunks, re-cut into parts of ``part_size`` bytes."""

    def __init__(self, data: AsyncIterator[bytes], part_size: int) -> None:
        self._data = data
        self.part_size = part_size
        self._buffer = bytearray()
        self.eof = False
        self.size = 0

    async def fill(self) -> None:
        """Read until more than one part is buffered (so a part is never the last by
        accident) or the stream ends."""
        while not self.eof and len(self._buffer) <= self.part_size:
            try:
                chunk = await anext(self._data)
            except StopAsyncIteration:
                self.eof = True
                break
            self._buffer += chunk
            self.size += len(chunk)

    def has_part(self) -> bool:
        return len(self._buffer) > self.part_size or (self.eof and bool(self._buffer))

    def take(self) -> bytes:
        with memoryview(self._buffer) as view:
            part = bytes(view[: self.part_size])  # one copy, not two
        del self._buffer[: self.part_size]
        return part

    def rest(self) -> bytes:
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


async def upload(
    aws: AwsClient,
    data: AsyncIterator[bytes],
    *,
    object_params: Mapping[str, Any],
    part_size: int,
    concurrency: int,
) -> Uploaded:
    """Store ``data`` at ``object_params`` (Bucket, Key, ContentType, Metadata, SSE...)."""
    source = _Source(data, part_size)
    await source.fill()
    if source.eof and source.size <= part_size:
        body = source.rest()
        answer = await aws.call("put_object", {**object_params, "Body": body})
        return Uploaded(
            etag=_etag(answer),
            size=len(body),
            version_id=answer.get("VersionId"),
            raw=_raw(answer),
        )
    created = await aws.call("create_multipart_upload", dict(object_params))
    target = {"Bucket": object_params["Bucket"], "Key": object_params["Key"]}
    upload_id = str(created["UploadId"])
    try:
        parts = await _send_parts(aws, source, {**target, "UploadId": upload_id}, concurrency)
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
    aws: AwsClient, source: _Source, target: dict[str, Any], concurrency: int
) -> list[dict[str, Any]]:
    etags: dict[int, str] = {}
    slots = anyio.Semaphore(concurrency)

    async def send(number: int, body: bytes) -> None:
        try:
            answer = await aws.call("upload_part", {**target, "PartNumber": number, "Body": body})
            etags[number] = str(answer["ETag"])
        finally:
            slots.release()

    number = 0
    try:
        async with anyio.create_task_group() as group:
            while True:
                await source.fill()
                if not source.has_part():
                    break
                number += 1
                if number > MAX_PARTS:
                    raise InvalidRequest(
                        f"the upload needs more than {MAX_PARTS} parts of {source.part_size} "
                        "bytes; raise the s3 part_size setting (S3 allows 10,000 parts)",
                        field="data",
                    )
                body = source.take()
                await slots.acquire()  # wait for a free slot before reading further
                group.start_soon(send, number, body)
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
