"""Cassettes: record through a real local server, replay with it gone, and never write a secret."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import httpx
import pytest

from hub._redact import (
    REDACTED,
    is_secret_field,
    is_secret_header,
    redact_headers,
    redact_json,
    redact_text,
    redact_url,
)
from hub.errors import ConfigurationError
from hub.testing.cassettes import (
    CassetteMismatch,
    CassetteTransport,
    activate,
    current_cassette,
    use_cassette,
)

# Characters that change under URL encoding, so each encoded form is a distinct search.
KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc+/="
OTHER_KEY = "sk_test_9ZZqq81mmPPlkWDarjtT1zzz+/="
API = "https://api.example.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def leaked_forms(text: str, secret: str) -> list[str]:
    """The spellings of ``secret`` found in ``text``, computed independently of the library."""
    forms = [
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode(),
        base64.b64encode(f"ada:{secret}".encode()).decode(),
    ]
    return [form for form in forms if form in text]


# -- a real HTTP server on 127.0.0.1 -----------------------------------------------------------


class EchoHandler(BaseHTTPRequestHandler):
    """Echoes back what it received, credentials included, as a careless vendor would."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_any(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type", "")
        if url.path == "/binary":
            body, media = b"\x89PNG\x00\xff" + query["api_key"].encode() + b"\x00\xfe", "image/png"
        else:
            echo = {
                "method": self.command,
                "path": url.path,
                "authorization": self.headers.get("Authorization"),
                "query": query,
                "json": json.loads(raw) if "json" in content_type else None,
                "form": {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                if "form" in content_type
                else None,
            }
            body, media = json.dumps(echo).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"session={query.get('api_key', 'none')}")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = handle_any


@contextmanager
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def call_vendor(client: httpx.AsyncClient, base: str, key: str) -> list[httpx.Response]:
    """The same four calls, each carrying the key a different way."""
    return [
        await client.get(
            f"{base}/v1/items",
            params={"api_key": key, "page": "2"},
            headers={"Authorization": f"Bearer {key}"},
        ),
        await client.post(
            f"{base}/v1/charges", json={"amount": 1999, "api_key": key, "note": f"paid with {key}"}
        ),
        await client.post(f"{base}/v1/login", auth=("ada", key), data={"user": "ada", "pw": key}),
        await client.get(f"{base}/binary", params={"api_key": key}),
    ]


@pytest.mark.anyio
async def test_record_against_real_server_then_replay_without_it(tmp_path: Path) -> None:
    path = tmp_path / "cassettes" / "vendor" / "calls.json"
    with echo_server() as base:
        transport = CassetteTransport(path, mode="once", secrets=[KEY])
        async with httpx.AsyncClient(transport=transport) as client:
            live = await call_vendor(client, base, KEY)
    # While recording the caller sees the real answer, key and all.
    assert live[0].json()["query"]["api_key"] == KEY
    assert live[3].content == b"\x89PNG\x00\xff" + KEY.encode() + b"\x00\xfe"

    text = path.read_text(encoding="utf-8")
    assert leaked_forms(text, KEY) == []
    document = json.loads(text)
    assert document["version"] == 1
    assert len(document["interactions"]) == 4
    first = document["interactions"][0]
    assert first["request"]["headers"]["authorization"] == REDACTED
    assert first["request"]["url"].endswith("/v1/items?api_key=<REDACTED>&page=2")
    assert first["response"]["headers"]["set-cookie"] == REDACTED
    assert first["response"]["headers"]["content-type"] == "application/json"
    assert "base64" in document["interactions"][3]["response"]["body"]

    # The server is gone: replay must not touch the network, and another key must match.
    replay = CassetteTransport(path, mode="none", secrets=[OTHER_KEY])
    async with httpx.AsyncClient(transport=replay) as client:
        replayed = await call_vendor(client, base, OTHER_KEY)
    assert replay.all_played
    assert [r.status_code for r in replayed] == [r.status_code for r in live]
    items, charge, login = (r.json() for r in replayed[:3])
    assert items == {
        "method": "GET",
        "path": "/v1/items",
        "authorization": REDACTED,
        "query": {"api_key": REDACTED, "page": "2"},
        "json": None,
        "form": None,
    }
    assert charge["json"] == {"amount": 1999, "api_key": REDACTED, "note": f"paid with {REDACTED}"}
    assert login["form"] == {"user": "ada", "pw": REDACTED}
    assert login["authorization"] == REDACTED
    binary = replayed[3].content
    assert binary == b"\x89PNG\x00\xff" + REDACTED.encode() + b"\x00\xfe"
    assert replayed[3].headers["content-type"] == "image/png"
    assert replayed[3].headers["content-length"] == str(len(binary))

    # "once" with an existing file replays too.
    async with httpx.AsyncClient(transport=CassetteTransport(path, mode="once")) as client:
        assert (await client.get(f"{base}/binary", params={"api_key": KEY})).content == binary


# -- everything else runs against an in-memory vendor: nothing leaves the process ------------


def vendor(respond: Callable[[httpx.Request], httpx.Response] | None = None) -> httpx.MockTransport:
    """A MockTransport that counts its calls and answers with a numbered JSON echo."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if respond is not None:
            return respond(request)
        return httpx.Response(200, json={"call": len(calls), "path": request.url.path})

    transport = httpx.MockTransport(handler)
    transport.calls = calls  # type: ignore[attr-defined]
    return transport


async def record(path: Path, calls: Callable[[httpx.AsyncClient], Any], **options: Any) -> Any:
    options.setdefault("mode", "once")
    options.setdefault("inner", vendor())
    transport = CassetteTransport(path, **options)
    async with httpx.AsyncClient(transport=transport) as client:
        return await calls(client)


@pytest.mark.anyio
async def test_changed_json_body_raises_mismatch_naming_cassette_and_difference(
    tmp_path: Path,
) -> None:
    path = tmp_path / "charge.json"
    body = {"amount": 100, "currency": "eur", "api_key": KEY}
    await record(path, lambda c: c.post(f"{API}/v1/charges?api_key={KEY}", json=body))

    async with httpx.AsyncClient(transport=CassetteTransport(path, secrets=[KEY])) as client:
        changed = {**body, "amount": 200, "metadata": {"order": "A-1"}}
        with pytest.raises(CassetteMismatch) as caught:
            await client.post(f"{API}/v1/charges?api_key={KEY}", json=changed)
    message = str(caught.value)
    assert str(path) in message
    assert f"POST {API}/v1/charges?api_key={REDACTED}" in message
    assert "$.amount: recorded 100, got 200" in message
    assert "$.metadata only in this request" in message
    assert leaked_forms(message, KEY) == []
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.cassette == path


@pytest.mark.anyio
async def test_mismatch_never_shows_a_secret_even_unconfigured(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, lambda c: c.get(f"{API}/a", headers={"Authorization": f"Bearer {KEY}"}))
    async with httpx.AsyncClient(transport=CassetteTransport(path)) as client:
        with pytest.raises(CassetteMismatch) as caught:
            await client.get(f"{API}/b/{KEY}", headers={"Authorization": f"Bearer {KEY}"})
    assert leaked_forms(str(caught.value), KEY) == []
    assert "URL: recorded" in str(caught.value)


@pytest.mark.anyio
async def test_query_parameter_order_does_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    params: list[tuple[str, Any]] = [("q", "cats"), ("tag", "a"), ("tag", "b"), ("page", "2")]
    await record(path, lambda c: c.get(f"{API}/search", params=params))

    async with httpx.AsyncClient(transport=CassetteTransport(path)) as client:
        response = await client.get(f"{API}/search", params=list(reversed(params)))
        assert response.json() == {"call": 1, "path": "/search"}
        with pytest.raises(CassetteMismatch, match="query parameter 'page': recorded"):
            await client.get(f"{API}/search", params=[*params[:3], ("page", "3")])


@pytest.mark.anyio
async def test_form_bodies_match_as_multidicts_and_are_redacted(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    form = {"grant_type": "client_credentials", "scope": ["read", "write"], "client_secret": KEY}
    await record(path, lambda c: c.post(f"{API}/oauth/token", data=form))
    stored = json.loads(path.read_text())["interactions"][0]["request"]["body"]["text"]
    assert f"client_secret={REDACTED}" in stored
    assert leaked_forms(stored, KEY) == []

    async with httpx.AsyncClient(transport=CassetteTransport(path)) as client:
        reordered = {"client_secret": OTHER_KEY, "scope": ["read", "write"]}
        reordered["grant_type"] = "client_credentials"
        assert (await client.post(f"{API}/oauth/token", data=reordered)).status_code == 200
        with pytest.raises(CassetteMismatch, match="form field 'grant_type'"):
            await client.post(f"{API}/oauth/token", data={**form, "grant_type": "password"})


@pytest.mark.anyio
async def test_binary_bodies_are_stored_as_base64_and_match_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "upload.json"
    payload = b"\x00\x01\xfe\xff" + KEY.encode() + b"\x80"
    inner = vendor(lambda r: httpx.Response(201, content=b"\xfe" + r.content))
    await record(
        path, lambda c: c.put(f"{API}/files/x", content=payload), inner=inner, secrets=[KEY]
    )
    interaction = json.loads(path.read_text())["interactions"][0]
    stored = base64.b64decode(interaction["request"]["body"]["base64"])
    assert stored == b"\x00\x01\xfe\xff" + REDACTED.encode() + b"\x80"
    assert "base64" in interaction["response"]["body"]

    replay = CassetteTransport(path, secrets=[KEY])
    async with httpx.AsyncClient(transport=replay) as client:
        response = await client.put(f"{API}/files/x", content=payload)
        assert response.status_code == 201
        assert response.content == b"\xfe" + stored
        with pytest.raises(CassetteMismatch, match="first difference at byte 1"):
            await client.put(f"{API}/files/x", content=b"\x00\x02")


@pytest.mark.anyio
async def test_new_episodes_replays_matches_and_appends_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "episodes.json"
    await record(path, lambda c: c.get(f"{API}/a"))

    inner = vendor()
    transport = CassetteTransport(path, mode="new_episodes", inner=inner)
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(f"{API}/a")).json() == {"call": 1, "path": "/a"}  # replayed
        assert (await client.get(f"{API}/b")).json() == {"call": 1, "path": "/b"}  # recorded
    assert [r.url.path for r in inner.calls] == ["/b"]  # type: ignore[attr-defined]
    urls = [i["request"]["url"] for i in json.loads(path.read_text())["interactions"]]
    assert urls == [f"{API}/a", f"{API}/b"]


@pytest.mark.anyio
async def test_identical_requests_play_in_order_then_the_last_repeats(tmp_path: Path) -> None:
    path = tmp_path / "poll.json"
    await record(path, lambda c: _twice(c, f"{API}/status"))
    async with httpx.AsyncClient(transport=CassetteTransport(path)) as client:
        calls = [(await client.get(f"{API}/status")).json()["call"] for _ in range(4)]
    assert calls == [1, 2, 2, 2]


async def _twice(client: httpx.AsyncClient, url: str) -> None:
    await client.get(url)
    await client.get(url)


@pytest.mark.anyio
async def test_mode_all_always_records_and_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "all.json"
    await record(path, lambda c: _twice(c, f"{API}/old"))
    inner = vendor()
    await record(path, lambda c: c.get(f"{API}/old"), mode="all", inner=inner)
    assert len(inner.calls) == 1  # type: ignore[attr-defined]
    assert len(json.loads(path.read_text())["interactions"]) == 1


@pytest.mark.anyio
async def test_replay_without_a_cassette_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    async with httpx.AsyncClient(transport=CassetteTransport(path, mode="none")) as client:
        with pytest.raises(CassetteMismatch, match="does not exist"):
            await client.get(f"{API}/a")
    assert not path.exists()


def test_unreadable_cassette_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"version": 99, "interactions": []}')
    with pytest.raises(ConfigurationError, match="not a readable hub cassette"):
        CassetteTransport(path)


@pytest.mark.anyio
async def test_compressed_responses_are_stored_decoded(tmp_path: Path) -> None:
    path = tmp_path / "gzip.json"
    compressed = gzip.compress(b'{"ok": true}')
    inner = vendor(
        lambda r: httpx.Response(
            200,
            headers={"content-encoding": "gzip", "content-type": "application/json"},
            content=compressed,
        )
    )
    live = await record(path, lambda c: c.get(f"{API}/z"), inner=inner)
    assert live.json() == {"ok": True}
    response = json.loads(path.read_text())["interactions"][0]["response"]
    assert response["body"] == {"json": {"ok": True}}
    assert "content-encoding" not in response["headers"]
    async with httpx.AsyncClient(transport=CassetteTransport(path)) as client:
        assert (await client.get(f"{API}/z")).json() == {"ok": True}


@pytest.mark.anyio
async def test_learned_credentials_are_scrubbed_from_responses(tmp_path: Path) -> None:
    """A bearer token nobody configured as a secret still never reaches the file."""
    path = tmp_path / "learned.json"
    token = "tok_live_abcdefgh12345"
    inner = vendor(lambda r: httpx.Response(200, json={"you_sent": r.headers["authorization"][7:]}))
    headers = {"Authorization": f"Bearer {token}"}
    await record(path, lambda c: c.get(f"{API}/me", headers=headers), inner=inner)
    assert token not in path.read_text()


@pytest.mark.anyio
async def test_provider_declared_names_are_redacted(tmp_path: Path) -> None:
    path = tmp_path / "declared.json"
    await record(
        path,
        lambda c: c.post(
            f"{API}/x?account_sid=AC123", headers={"X-Vendor-Auth": "v"}, json={"pin": "1234"}
        ),
        redact_headers=["X-Vendor-Auth"],
        redact_fields=["account_sid", "pin"],
    )
    request = json.loads(path.read_text())["interactions"][0]["request"]
    assert request["url"] == f"{API}/x?account_sid={REDACTED}"
    assert request["headers"]["x-vendor-auth"] == REDACTED
    assert request["body"] == {"json": {"pin": REDACTED}}


@pytest.mark.anyio
async def test_use_cassette_activates_it_and_saves_on_exit(tmp_path: Path) -> None:
    assert current_cassette.get() is None
    async with use_cassette("vendor/flow", directory=tmp_path, mode="once", inner=vendor()) as c:
        assert current_cassette.get() is c
        # The hub's client factory wraps its own transport with the active cassette.
        async with httpx.AsyncClient(transport=c.wrap(vendor())) as client:
            await client.get(f"{API}/a")
    assert current_cassette.get() is None
    assert (tmp_path / "vendor" / "flow.json").exists()
    assert [p.name for p in (tmp_path / "vendor").iterdir()] == ["flow.json"]  # no temp left


def test_activate_nests_and_restores(tmp_path: Path) -> None:
    outer, inner = CassetteTransport(tmp_path / "o.json"), CassetteTransport(tmp_path / "i.json")
    with activate(outer):
        with activate(inner):
            assert current_cassette.get() is inner
        assert current_cassette.get() is outer
    assert current_cassette.get() is None


# -- redaction rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("Proxy-Authorization", True),
        ("Cookie", True),
        ("Set-Cookie", True),
        ("X-Api-Key", True),
        ("Api-Key", True),
        ("X-Auth-Token", True),
        ("X-Postmark-Server-Token", True),
        ("Stripe-Signature", True),
        ("X-Webhook-Secret", True),
        ("Content-Type", False),
        ("Content-Length", False),
        ("Accept-Encoding", False),
        ("User-Agent", False),
        ("Idempotency-Key", False),
    ],
)
def test_secret_headers(name: str, secret: bool) -> None:
    assert is_secret_header(name) is secret


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True),
        ("apiKey", True),
        ("API-KEY", True),
        ("key", True),
        ("access_token", True),
        ("accessToken", True),
        ("client_secret", True),
        ("Password", True),
        ("webhook_secret", True),
        ("signature", True),
        ("amount", False),
        ("currency", False),
        ("keyword", False),
        ("monkey", False),
    ],
)
def test_secret_fields(name: str, secret: bool) -> None:
    assert is_secret_field(name) is secret


def test_basic_auth_is_blanked_wholesale_even_under_an_odd_header() -> None:
    basic = "Basic " + base64.b64encode(f"ada:{KEY}".encode()).decode()
    found: set[str] = set()
    pairs = [("X-Forwarded-Auth", basic), ("Content-Type", "text/plain")]
    redacted = redact_headers(pairs, [], found=found)
    assert redacted == [("X-Forwarded-Auth", REDACTED), ("Content-Type", "text/plain")]
    assert KEY in found


@pytest.mark.parametrize("prefix", ["", "a", "ab", "user:", "x" * 7])
def test_secret_is_found_inside_base64_of_a_longer_value(prefix: str) -> None:
    blob = base64.b64encode(f"{prefix}{KEY}!".encode()).decode()
    assert REDACTED in redact_text(f"data={blob}", [KEY])


def test_redact_text_covers_url_encoded_forms_and_ignores_empty_secrets() -> None:
    text = f"a={quote(KEY, safe='')}&b={quote_plus(KEY)}&c={KEY}"
    assert redact_text(text, [KEY, ""]) == f"a={REDACTED}&b={REDACTED}&c={REDACTED}"
    assert redact_text("nothing here", [""]) == "nothing here"


def test_redact_url_blanks_userinfo_and_query_by_name() -> None:
    url = f"https://ada:hunter2@api.example.test/v1?token=abc&q=cats&apiKey={quote(KEY)}"
    assert redact_url(url, []) == (
        f"https://ada:{REDACTED}@api.example.test/v1?token={REDACTED}&q=cats&apiKey={REDACTED}"
    )


def test_redact_json_walks_nested_data() -> None:
    data = {
        "token": {"id": "tok_1", "card": {"last4": "4242"}},
        "auth": [{"accessToken": "abc", "expires": 3600, "active": True}],
        "note": f"key is {KEY}",
    }
    assert redact_json(data, [KEY]) == {
        "token": {"id": "tok_1", "card": {"last4": "4242"}},
        "auth": [{"accessToken": REDACTED, "expires": 3600, "active": True}],
        "note": f"key is {REDACTED}",
    }
