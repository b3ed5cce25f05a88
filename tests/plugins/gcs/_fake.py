"""A Cloud Storage stand-in answering the JSON API as Google documents it.

Enough of the API for the provider: the OAuth token endpoint (the JWT's RS256 signature is
verified with the test key's public half), multipart and resumable uploads (sessions, ``308``
with ``Range``, cancel with ``DELETE`` → ``499``), ``objects.get`` (resource and
``alt=media`` with ``Range``), ``objects.list`` (``prefix``, ``maxResults``, ``pageToken``)
and ``objects.delete``; errors in Google's ``{"error": {...}}`` shape. ``persist_less`` makes a
chunk PUT keep 256 KiB less than it was sent (Google may), ``fail(response, times)`` answers
the next requests with ``response``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, cast
from urllib.parse import parse_qs, unquote

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN_URI = "https://oauth2.googleapis.com/token"
API = "https://storage.googleapis.com"
KIB256 = 256 * 1024
_OBJECT = re.compile(r"^/storage/v1/b/([^/]+)/o/(.+)$")
_OBJECTS = re.compile(r"^/storage/v1/b/([^/]+)/o$")
_UPLOAD = re.compile(r"^/upload/storage/v1/b/([^/]+)/o$")
_SPAN = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")


def google_error(status: int, reason: str, message: str) -> httpx.Response:
    """Google's JSON API error body."""
    return httpx.Response(
        status,
        json={
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
            }
        },
    )


@dataclass
class Stored:
    data: bytes
    resource: dict[str, Any]


@dataclass
class Session:
    resource: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)


class FakeGcs:
    def __init__(self, public_key: rsa.RSAPublicKey, *, bucket: str) -> None:
        self.public_key = public_key
        self.bucket = bucket
        self.objects: dict[str, Stored] = {}
        self.sessions: dict[str, Session] = {}
        self.cancelled: list[str] = []
        self.tokens: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.persist_less = False
        self._failures: list[httpx.Response] = []
        self._counter = 0

    def fail(self, response: httpx.Response, times: int = 1) -> None:
        self._failures.extend([response] * times)

    def clear(self) -> None:
        self._failures.clear()

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    async def handler(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        if self._failures:
            failure = self._failures.pop(0)
            return httpx.Response(
                failure.status_code, headers=failure.headers, content=failure.content
            )
        if str(request.url) == TOKEN_URI:
            return self._token(request)
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return google_error(401, "authError", "Invalid Credentials")
        path = request.url.raw_path.split(b"?", 1)[0].decode()
        params = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if "upload_id" in params:
            return self._chunk(request, params["upload_id"])
        if (found := _UPLOAD.match(path)) and request.method == "POST":
            return self._upload(request, found.group(1), params.get("uploadType", ""))
        if (found := _OBJECTS.match(path)) and request.method == "GET":
            return self._list(params)
        if found := _OBJECT.match(path):
            name = unquote(found.group(2))
            if request.method == "GET":
                return self._get(request, name, params.get("alt") == "media")
            if request.method == "DELETE":
                if self.objects.pop(name, None) is None:
                    return self._missing(name)
                return httpx.Response(204)
        return google_error(404, "notFound", "Not Found")

    # -- the token endpoint -----------------------------------------------------------------

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return httpx.Response(400, json={"error": "unsupported_grant_type"})
        try:
            head, claims, signature = form["assertion"].split(".")
            self.public_key.verify(
                _unb64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            payload = json.loads(_unb64(claims))
        except Exception:
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
        if payload.get("aud") != TOKEN_URI or "devstorage" not in payload.get("scope", ""):
            return httpx.Response(
                400, json={"error": "invalid_scope", "error_description": "Bad scope or audience."}
            )
        token = f"ya29.test-token-{self._next()}"
        self.tokens.add(token)
        return httpx.Response(
            200, json={"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    # -- uploads ------------------------------------------------------------------------------

    def _upload(self, request: httpx.Request, bucket: str, kind: str) -> httpx.Response:
        if kind == "multipart":
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: "
                + request.headers["content-type"].encode()
                + b"\r\n\r\n"
                + request.content
            )
            meta_part, media_part = list(message.iter_parts())
            resource = json.loads(cast(bytes, meta_part.get_payload(decode=True)))
            media = media_part.get_payload(decode=True)
            assert isinstance(media, bytes)
            resource.setdefault("contentType", media_part.get_content_type())
            return self._store(resource, media)
        if kind == "resumable":
            upload_id = f"hub-test-upload-{self._next()}"
            self.sessions[upload_id] = Session(json.loads(request.content))
            location = (
                f"{API}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={upload_id}"
            )
            return httpx.Response(200, headers={"Location": location})
        return google_error(400, "invalid", f"unknown uploadType {kind!r}")

    def _chunk(self, request: httpx.Request, upload_id: str) -> httpx.Response:
        session = self.sessions.get(upload_id)
        if session is None:
            return google_error(404, "notFound", "No such upload session")
        if request.method == "DELETE":
            del self.sessions[upload_id]
            self.cancelled.append(upload_id)
            return httpx.Response(499)
        span = _SPAN.match(request.headers.get("content-range", ""))
        if span is None:
            return google_error(400, "invalid", "Bad Content-Range")
        first, _, total = span.groups()
        if first is not None and int(first) != len(session.data):
            return google_error(400, "invalid", "Content-Range does not continue the upload")
        body = request.content
        final = total != "*"
        if not final and len(body) % KIB256:
            return google_error(400, "invalid", "Chunks must be multiples of 256 KiB")
        if not final and self.persist_less and len(body) > KIB256:
            body = body[:-KIB256]
        session.data += body
        if final:
            if int(total) != len(session.data):
                return google_error(400, "invalid", "The total does not match what was sent")
            del self.sessions[upload_id]
            return self._store(session.resource, bytes(session.data))
        headers = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
        return httpx.Response(308, headers=headers)

    def _store(self, resource: dict[str, Any], data: bytes) -> httpx.Response:
        name = resource["name"]
        generation = str(1700000000000000 + self._next())
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        full = {
            "kind": "storage#object",
            "id": f"{self.bucket}/{name}/{generation}",
            "name": name,
            "bucket": self.bucket,
            "generation": generation,
            "metageneration": "1",
            "contentType": resource.get("contentType", "application/octet-stream"),
            "size": str(len(data)),
            "md5Hash": md5,
            "etag": base64.b64encode(generation.encode()).decode(),
            "timeCreated": "2024-05-01T10:00:00.000Z",
            "updated": "2024-05-01T10:00:00.000Z",
        }
        if resource.get("metadata"):
            full["metadata"] = dict(resource["metadata"])
        self.objects[name] = Stored(data, full)
        return httpx.Response(200, json=full)

    # -- reads --------------------------------------------------------------------------------

    def _missing(self, name: str) -> httpx.Response:
        return google_error(404, "notFound", f"No such object: {self.bucket}/{name}")

    def _get(self, request: httpx.Request, name: str, media: bool) -> httpx.Response:
        stored = self.objects.get(name)
        if stored is None:
            return self._missing(name)
        if not media:
            return httpx.Response(200, json=stored.resource)
        wanted = re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers.get("range", ""))
        if wanted is None:
            return httpx.Response(200, content=stored.data)
        start, end = int(wanted.group(1)), int(wanted.group(2))
        if start >= len(stored.data):
            return google_error(416, "requestedRangeNotSatisfiable", "Range Not Satisfiable")
        part = stored.data[start : end + 1]
        span = f"bytes {start}-{start + len(part) - 1}/{len(stored.data)}"
        return httpx.Response(206, content=part, headers={"Content-Range": span})

    def _list(self, params: dict[str, str]) -> httpx.Response:
        prefix = params.get("prefix", "")
        size = int(params.get("maxResults", "1000"))
        after = _unb64(params["pageToken"]).decode() if "pageToken" in params else ""
        names = sorted(n for n in self.objects if n.startswith(prefix) and n > after)
        page = names[:size]
        body: dict[str, Any] = {"kind": "storage#objects"}
        if page:  # Google leaves "items" out of an empty page
            body["items"] = [self.objects[n].resource for n in page]
        if len(names) > size:
            body["nextPageToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return httpx.Response(200, json=body)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
