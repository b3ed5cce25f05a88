"""Record real HTTP exchanges once, replay them forever: rung 2 of the testing ladder.

:class:`CassetteTransport` is an ``httpx`` transport, so it slots under any ``httpx.AsyncClient``
(and, through :data:`current_cassette`, under the hub's own clients without plugins knowing).
Modes follow VCR.py:

``none``
    replay only; a request with no recorded match raises :class:`CassetteMismatch` (CI runs this).
``once``
    record everything when the file does not exist yet, otherwise behave like ``none``.
``new_episodes``
    replay what matches, send the rest to the real server and append it.
``all``
    send everything to the real server and overwrite the file.

Requests match on method, URL (query parameter order ignored) and body (JSON compared as data,
form bodies as order-insensitive multi-dicts, anything else byte for byte). Matching compares
*redacted* requests, so a live request carrying a real key matches one recorded with another key.
Identical recorded requests are played once each, in recording order; once all of them have been
played, replay-only modes play the last one again (a poll that keeps returning the final state),
while ``new_episodes`` records a new one.

Secrets never touch disk: credential headers, secret-named query/form/JSON fields, configured
secret values (also URL- and base64-encoded) and credentials learned from requests (bearer
tokens, basic-auth passwords, secret-named fields of at least 8 characters) are replaced with
``<REDACTED>``. While recording, the caller still receives the real, unredacted response, so a
token the vendor hands out can be used by the next request.

The file (pretty-printed JSON, written atomically on :meth:`CassetteTransport.aclose`)::

    {"version": 1, "interactions": [
      {"request": {"method": "POST", "url": "https://api.example.com/v1/x?api_key=<REDACTED>",
                   "headers": {"authorization": "<REDACTED>", "content-type": "application/json"},
                   "body": {"json": {"amount": 100}}},
       "response": {"status": 200, "headers": {"set-cookie": ["<REDACTED>", "<REDACTED>"]},
                    "body": {"text": "ok"}}}]}

A body is ``{"json": <data>}`` (parsed JSON, replayed compactly), ``{"text": "..."}`` (UTF-8) or
``{"base64": "..."}`` (anything else). Bodies are stored decoded: ``content-encoding``,
``content-length`` and ``transfer-encoding`` are dropped and recomputed on replay.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import anyio.to_thread
import httpx

from hub._redact import (
    REDACTED,
    redact_bytes,
    redact_form,
    redact_headers,
    redact_json,
    redact_text,
    redact_url,
)
from hub.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.core import Hub

__all__ = [
    "CassetteMismatch",
    "CassetteTransport",
    "Mode",
    "activate",
    "cassette_hub",
    "current_cassette",
    "use_cassette",
]

Mode: TypeAlias = Literal["none", "once", "new_episodes", "all"]
Headers: TypeAlias = dict[str, str | list[str]]
#: Exactly one of ``{"json": ...}``, ``{"text": str}``, ``{"base64": str}``.
Body: TypeAlias = dict[str, Any]

_VERSION = 1
_MODES = ("none", "once", "new_episodes", "all")
# Bodies are stored decoded and may shrink when redacted: these would lie on replay.
_UNSTORED_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})
# Learned credentials shorter than this would scrub innocent text.
_MIN_LEARNED_SECRET = 8
_MAX_NOTES = 5


class RecordedRequest(TypedDict):
    method: str
    url: str
    headers: Headers
    body: Body


class RecordedResponse(TypedDict):
    status: int
    headers: Headers
    body: Body


class Interaction(TypedDict):
    request: RecordedRequest
    response: RecordedResponse


class CassetteMismatch(ConfigurationError):
    """A request in replay has no recorded counterpart: re-record, or fix the code that changed."""

    def __init__(self, message: str, *, cassette: Path) -> None:
        super().__init__(message)
        self.cassette = cassette


class CassetteTransport(httpx.AsyncBaseTransport):
    """An httpx transport that records exchanges to a JSON file and replays them.

    ``inner`` is the real transport used while recording (an ``httpx.AsyncHTTPTransport`` made on
    first use if not given) and is closed with this one. ``secrets`` are configured secret values;
    ``redact_headers`` and ``redact_fields`` are extra header / field names a provider declares
    secret. The file is written on :meth:`aclose` (or :meth:`save`) if anything was recorded.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "none",
        inner: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[str] = (),
        redact_headers: Iterable[str] = (),
        redact_fields: Iterable[str] = (),
    ) -> None:
        if mode not in _MODES:
            raise ConfigurationError(f"cassette mode must be one of {_MODES}, not {mode!r}")
        self.path = Path(path)
        self.mode: Mode = mode
        self._inner = inner
        self._secrets = {s for s in secrets if s}
        self._redact_headers = tuple(redact_headers)
        self._redact_fields = tuple(redact_fields)
        exists = self.path.exists()
        self._existed = exists
        self._replays = mode in ("none", "new_episodes") or (mode == "once" and exists)
        self._records = mode in ("new_episodes", "all") or (mode == "once" and not exists)
        self._interactions: list[Interaction] = self._load() if exists and mode != "all" else []
        self._keys = [_match_key(i["request"]) for i in self._interactions]
        self._played = [False] * len(self._interactions)
        self._dirty = False

    # -- public ---------------------------------------------------------------------------

    @property
    def interactions(self) -> tuple[Interaction, ...]:
        """The recorded interactions, as stored (redacted)."""
        return tuple(self._interactions)

    @property
    def all_played(self) -> bool:
        """Whether every interaction has been replayed or recorded: a test used all it recorded."""
        return all(self._played)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._handle(request, None)

    def wrap(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """A transport sharing this cassette but recording through ``inner``.

        For the hub's client factory: each pooled client keeps its own real transport, and all
        of them record into the active cassette. Closing the result closes ``inner`` and saves.
        """
        return _BoundCassette(self, inner)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Learn secret values late (e.g. a hub built after the cassette); redacted on save."""
        self._secrets.update(value for value in values if value)

    def save(self) -> None:
        """Write the cassette if anything was recorded: temp file + rename, so never half-written.

        The whole document goes through value redaction once more, with every credential learned
        during the session, so one learned late is scrubbed from earlier responses too.
        """
        if not self._dirty:
            return
        document = {"version": _VERSION, "interactions": self._interactions}
        text = redact_text(json.dumps(document, indent=2, ensure_ascii=False), self._secrets)
        try:
            json.loads(text)
        except ValueError as exc:  # a secret spanning JSON syntax: refuse rather than leak
            raise ConfigurationError(
                f"{self.path}: redaction produced invalid JSON; not writing the cassette"
            ) from exc
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._dirty = False

    async def aclose(self) -> None:
        """Close the real transport and save the cassette."""
        if self._inner is not None:
            await self._inner.aclose()
        await anyio.to_thread.run_sync(self.save)

    # -- recording and replay -------------------------------------------------------------

    async def _handle(
        self, request: httpx.Request, inner: httpx.AsyncBaseTransport | None
    ) -> httpx.Response:
        content = await request.aread()
        self._learn(request, content)
        recorded = self._record_request(request, content)
        if self._replays:
            index = self._find(_match_key(recorded))
            if index is not None:
                self._played[index] = True
                return _replay(self._interactions[index]["response"])
            if not self._records:
                raise self._mismatch(recorded)
        if inner is None:
            if self._inner is None:
                self._inner = httpx.AsyncHTTPTransport()
            inner = self._inner
        live = await inner.handle_async_request(request)
        try:
            body = await live.aread()
        finally:
            await live.aclose()
        headers = [
            (k, v) for k, v in live.headers.multi_items() if k.lower() not in _UNSTORED_HEADERS
        ]
        self._interactions.append(
            {
                "request": recorded,
                "response": self._record_response(live.status_code, headers, body),
            }
        )
        self._keys.append(_match_key(recorded))
        self._played.append(True)
        self._dirty = True
        extensions = {
            k: v for k, v in live.extensions.items() if k in ("http_version", "reason_phrase")
        }
        return httpx.Response(
            live.status_code, headers=headers, content=body, extensions=extensions
        )

    def _find(self, key: tuple[Any, ...]) -> int | None:
        """The first unplayed match; when all are played, the last one in replay-only modes."""
        last = None
        for index, candidate in enumerate(self._keys):
            if candidate == key:
                if not self._played[index]:
                    return index
                last = index
        return None if self._records else last

    def _learn(self, request: httpx.Request, content: bytes) -> None:
        """Add credentials found by name in ``request`` to the secrets scrubbed by value."""
        found: set[str] = set()
        self._record_request(request, content, found)
        self._secrets.update(v for v in found if len(v) >= _MIN_LEARNED_SECRET and v != REDACTED)

    def _record_request(
        self, request: httpx.Request, content: bytes, found: set[str] | None = None
    ) -> RecordedRequest:
        pairs = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
        return {
            "method": request.method,
            "url": redact_url(str(request.url), self._secrets, self._redact_fields, found=found),
            "headers": _headers_to_json(
                redact_headers(pairs, self._secrets, self._redact_headers, found=found)
            ),
            "body": self._store_body(content, request.headers.get("content-type", ""), found),
        }

    def _record_response(
        self, status: int, headers: list[tuple[str, str]], content: bytes
    ) -> RecordedResponse:
        redacted = redact_headers(headers, self._secrets, self._redact_headers)
        return {
            "status": status,
            "headers": _headers_to_json(redacted),
            "body": self._store_body(content, _content_type(headers), None),
        }

    def _store_body(self, content: bytes, content_type: str, found: set[str] | None) -> Body:
        secrets, fields = self._secrets, self._redact_fields
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(redact_bytes(content, secrets)).decode("ascii")}
        if _is_json(content_type, text):
            try:
                data = json.loads(text)
            except ValueError:
                pass
            else:
                return {"json": redact_json(data, secrets, fields, found=found)}
        if _is_form(content_type):
            return {"text": redact_form(text, secrets, fields, found=found)}
        return {"text": redact_text(text, secrets)}

    # -- loading and errors ---------------------------------------------------------------

    def _load(self) -> list[Interaction]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            if document.get("version") != _VERSION:
                raise ValueError(f"unsupported version {document.get('version')!r}")
            interactions = cast(list[Interaction], document["interactions"])
            for interaction in interactions:
                _match_key(interaction["request"])
                _body_bytes(interaction["response"]["body"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(
                f"{self.path} is not a readable hub cassette ({exc}); delete it and record again"
            ) from exc
        return interactions

    def _mismatch(self, request: RecordedRequest) -> CassetteMismatch:
        """An error naming the cassette, the request and how the closest recording differs."""
        head = f"{self.path}: no recorded interaction matches {request['method']} {request['url']}"
        if not self._existed:
            message = f"{head}: the cassette does not exist; record it with mode='once'"
            return CassetteMismatch(message, cassette=self.path)
        hint = "re-record with mode='new_episodes' (to add) or mode='all' (to start over)"
        if not self._interactions:
            return CassetteMismatch(f"{head}: the cassette is empty; {hint}", cassette=self.path)
        scored = [_differences(i["request"], request) for i in self._interactions]
        best = min(range(len(scored)), key=lambda n: scored[n][0])
        closest = self._interactions[best]["request"]
        notes = "\n".join(f"  - {note}" for note in scored[best][1])
        message = (
            f"{head} (mode {self.mode!r} replays only).\n"
            f"Closest recorded request, #{best}: {closest['method']} {closest['url']}\n{notes}\n"
            f"If the change is intended, {hint}."
        )
        # Everything above is built from redacted forms; scrub once more for learned secrets.
        return CassetteMismatch(redact_text(message, self._secrets), cassette=self.path)


class _BoundCassette(httpx.AsyncBaseTransport):
    """See :meth:`CassetteTransport.wrap`."""

    def __init__(self, cassette: CassetteTransport, inner: httpx.AsyncBaseTransport) -> None:
        self._cassette = cassette
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._cassette._handle(request, self._inner)

    async def aclose(self) -> None:
        await self._inner.aclose()
        await anyio.to_thread.run_sync(self._cassette.save)


#: The cassette the hub's HTTP client factory should record through, if any.
current_cassette: ContextVar[CassetteTransport | None] = ContextVar(
    "hub_current_cassette", default=None
)


@contextlib.contextmanager
def activate(transport: CassetteTransport) -> Iterator[CassetteTransport]:
    """Make ``transport`` the :data:`current_cassette` inside the block (nests, task-local)."""
    token = current_cassette.set(transport)
    try:
        yield transport
    finally:
        current_cassette.reset(token)


@contextlib.asynccontextmanager
async def use_cassette(
    name: str,
    *,
    directory: str | os.PathLike[str],
    mode: Mode = "none",
    secrets: Iterable[str] = (),
    redact_headers: Iterable[str] = (),
    redact_fields: Iterable[str] = (),
    inner: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[CassetteTransport]:
    """Open ``directory/name.json``, activate it, and close (save) it on exit."""
    filename = name if name.endswith(".json") else f"{name}.json"
    transport = CassetteTransport(
        Path(directory) / filename,
        mode=mode,
        inner=inner,
        secrets=secrets,
        redact_headers=redact_headers,
        redact_fields=redact_fields,
    )
    try:
        with activate(transport):
            yield transport
    finally:
        await transport.aclose()


# -- storage helpers ----------------------------------------------------------------------


def _headers_to_json(pairs: Iterable[tuple[str, str]]) -> Headers:
    """Header pairs as a readable dict; a repeated header becomes a list."""
    headers: Headers = {}
    for name, value in pairs:
        key = name.lower()
        previous = headers.get(key)
        if previous is None:
            headers[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            headers[key] = [previous, value]
    return headers


def _headers_from_json(headers: Headers) -> list[tuple[str, str]]:
    return [
        (name, item)
        for name, value in headers.items()
        for item in (value if isinstance(value, list) else [value])
    ]


def _content_type(headers: Iterable[tuple[str, str]]) -> str:
    return next((v for k, v in headers if k.lower() == "content-type"), "")


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _is_json(content_type: str, text: str) -> bool:
    media = _media_type(content_type)
    if media:
        return media.endswith(("/json", "+json"))
    return text.lstrip().startswith(("{", "["))


def _is_form(content_type: str) -> bool:
    return _media_type(content_type) == "application/x-www-form-urlencoded"


def _body_bytes(body: Body) -> bytes:
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if "text" in body:
        return cast(str, body["text"]).encode("utf-8")
    if "base64" in body:
        try:
            return base64.b64decode(cast(str, body["base64"]), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"body is not valid base64: {exc}") from exc
    raise ValueError(f"body needs one of 'json', 'text', 'base64', got {sorted(body)}")


def _replay(response: RecordedResponse) -> httpx.Response:
    headers = [
        (name, value)
        for name, value in _headers_from_json(response["headers"])
        if name.lower() not in _UNSTORED_HEADERS
    ]
    return httpx.Response(
        response["status"], headers=headers, content=_body_bytes(response["body"])
    )


# -- matching -----------------------------------------------------------------------------


def _url_key(url: str) -> tuple[str, list[tuple[str, str]]]:
    """The URL without its query, and the query as sorted pairs."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))
    return base, sorted(parse_qsl(parts.query, keep_blank_values=True))


def _body_key(request: RecordedRequest) -> tuple[str, Any]:
    body = request["body"]
    if "json" in body:
        return "json", body["json"]
    if "text" in body and _is_form(_content_type(_headers_from_json(request["headers"]))):
        return "form", sorted(parse_qsl(body["text"], keep_blank_values=True))
    return "bytes", _body_bytes(body)


def _match_key(request: RecordedRequest) -> tuple[Any, ...]:
    return (request["method"].upper(), *_url_key(request["url"]), _body_key(request))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _pairs_differences(
    label: str, recorded: list[tuple[str, str]], got: list[tuple[str, str]]
) -> list[str]:
    def grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for name, value in pairs:
            groups.setdefault(name, []).append(value)
        return groups

    old, new = grouped(recorded), grouped(got)
    notes = []
    for name in [*old, *(n for n in new if n not in old)]:
        if name not in new:
            notes.append(f"{label} {name!r} only in the recording")
        elif name not in old:
            notes.append(f"{label} {name!r} only in this request")
        elif old[name] != new[name]:
            notes.append(f"{label} {name!r}: recorded {_short(old[name])}, got {_short(new[name])}")
    return notes


def _json_differences(recorded: Any, got: Any, path: str, notes: list[str]) -> None:
    if len(notes) > _MAX_NOTES:
        return
    if isinstance(recorded, dict) and isinstance(got, dict):
        for key in [*recorded, *(k for k in got if k not in recorded)]:
            where = f"{path}.{key}"
            if key not in got:
                notes.append(f"JSON body {where} only in the recording")
            elif key not in recorded:
                notes.append(f"JSON body {where} only in this request")
            else:
                _json_differences(recorded[key], got[key], where, notes)
    elif isinstance(recorded, list) and isinstance(got, list) and len(recorded) == len(got):
        for index, (old, new) in enumerate(zip(recorded, got, strict=True)):
            _json_differences(old, new, f"{path}[{index}]", notes)
    elif recorded != got or type(recorded) is not type(got):
        notes.append(f"JSON body {path}: recorded {_short(recorded)}, got {_short(got)}")


def _body_differences(recorded: tuple[str, Any], got: tuple[str, Any]) -> list[str]:
    (old_kind, old), (new_kind, new) = recorded, got
    if old_kind != new_kind:
        return [f"body: recorded a {old_kind} body, got a {new_kind} body"]
    if old_kind == "json":
        notes: list[str] = []
        _json_differences(old, new, "$", notes)
        return notes
    if old_kind == "form":
        return _pairs_differences("form field", old, new)
    at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), None)
    at = min(len(old), len(new)) if at is None else at
    return [
        f"body: recorded {len(old)} bytes, got {len(new)}; first difference at byte {at}: "
        f"recorded {_short(old[at : at + 20])}, got {_short(new[at : at + 20])}"
    ]


def _differences(recorded: RecordedRequest, got: RecordedRequest) -> tuple[int, list[str]]:
    """How far apart two requests are (method > URL > query > body) and why, in words."""
    score, notes = 0, []
    if recorded["method"].upper() != got["method"].upper():
        score += 8
        notes.append(f"method: recorded {recorded['method']}, got {got['method']}")
    (old_base, old_query), (new_base, new_query) = _url_key(recorded["url"]), _url_key(got["url"])
    if old_base != new_base:
        score += 4
        notes.append(f"URL: recorded {old_base}, got {new_base}")
    if old_query != new_query:
        score += 2
        notes.extend(_pairs_differences("query parameter", old_query, new_query))
    old_body, new_body = _body_key(recorded), _body_key(got)
    if old_body != new_body:
        score += 1
        notes.extend(_body_differences(old_body, new_body))
    if len(notes) > _MAX_NOTES:
        notes = [*notes[:_MAX_NOTES], f"... and {len(notes) - _MAX_NOTES} more differences"]
    return score, notes


@contextlib.asynccontextmanager
async def cassette_hub(
    path: str | os.PathLike[str],
    *,
    mode: Mode,
    settings: dict[str, Any],
    documented: Callable[[httpx.Request], httpx.Response],
    live_secret: str | None = None,
) -> AsyncIterator[tuple[Hub, CassetteTransport]]:
    """A hub built from ``settings`` whose every HTTP request goes through the cassette.

    Recording reaches the real vendor only with a live credential (``live_secret``, redacted
    from the file); otherwise it records the vendor's documented answers from ``documented``,
    which is how documentation-built cassettes are made on a machine without the vendor.
    """
    from hub.core import Hub
    from hub.http import override_transport

    recording_live = live_secret is not None and mode != "none"
    cassette = CassetteTransport(
        path,
        mode=mode,
        inner=None if recording_live else httpx.MockTransport(documented),
        secrets=[live_secret] if live_secret else [],
    )
    try:
        with override_transport(cassette):
            async with Hub.from_settings(**settings) as hub:
                yield hub, cassette
    finally:
        await cassette.aclose()
