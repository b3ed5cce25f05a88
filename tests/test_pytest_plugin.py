"""The pytest plugin, run the way users run it: inner pytest sessions through ``pytester``."""

from __future__ import annotations

import base64
import json
import re
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from hub.core import Hub
from hub.testing.outbox import assert_sent, sent_messages
from hub.testing.pytest_plugin import cassette_name, environment_secrets, fixture_settings

pytest_plugins = ["pytester"]

KEY = "acct_live_9f8Kq2+/ZxYw=Vendor"
TOKEN = "tok_env_4c1d2e3f4a5b6c7d"
CONFTEST = """
import pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def run(pytester: pytest.Pytester, source: str, *args: str, **files: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    for name, text in files.items():
        pytester.makepyfile(**{name: textwrap.dedent(text)})
    pytester.makepyfile(test_inner=textwrap.dedent(source))
    return pytester.runpytest("-p", "no:cacheprovider", "--strict-markers", *args)


# -- fixtures -----------------------------------------------------------------------------------


def test_hub_fixture_is_fresh_for_each_test_and_closed_after(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest
        from hub.errors import HubError
        from hub.testing.outbox import assert_sent

        seen = []

        @pytest.mark.anyio
        async def test_first(hub, tmp_path):
            assert hub.settings.env.value == "test"
            assert hub.settings.data_dir == tmp_path
            assert hub.email.providers == ["fake"] and hub.payments.providers == ["fake"]
            await hub.email.send(to="ada@example.com", subject="Hi", text="Hello")
            assert_sent(hub, to="ada@example.com", count=1)
            seen.append(hub)

        @pytest.mark.anyio
        async def test_second(hub):
            assert hub is not seen[0]
            with pytest.raises(HubError, match="closed"):
                seen[0].email
            assert hub.email.outbox == []
        """,
    )
    result.assert_outcomes(passed=2)


def test_hub_fixture_ignores_hub_env_variables(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_EMAIL__PROVIDERS", "local")
    monkeypatch.setenv("HUB_SMS__PROVIDER", "local")
    result = run(
        pytester,
        """
        def test_fakes(hub):
            assert hub.email.providers == ["fake"]
            assert hub.sms.providers == ["fake"]
        """,
    )
    result.assert_outcomes(passed=1)


def test_test_hub_leaves_the_hub_module_visible(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import hub

        def test_alias(test_hub):
            assert isinstance(test_hub, hub.Hub)
            assert hub.Money(100, "EUR").amount == 100
        """,
    )
    result.assert_outcomes(passed=1)


def test_hub_settings_fixture_reconfigures_the_hub(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.fixture
        def hub_settings():
            return {"email": {"provider": "local", "local": {"announce": False},
                              "default_from": "shop@example.com"}}

        @pytest.mark.anyio
        async def test_local_email(hub, tmp_path):
            assert hub.email.providers == ["local"]
            assert hub.sms.providers == ["fake"]
            receipt = await hub.email.send(to="ada@example.com", subject="Hi", text="Hello")
            assert receipt.provider == "local"
            assert list((tmp_path / "outbox").glob("*.eml"))
        """,
    )
    result.assert_outcomes(passed=1)


def test_make_hub_builds_several_hubs_and_closes_them(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        made = []

        @pytest.mark.anyio
        async def test_make(make_hub, tmp_path):
            dev = make_hub(env="development", sms={"local": {"announce": False}},
                           data_dir=tmp_path / "dev")
            test = make_hub()
            assert dev.sms.providers == ["local"] and test.sms.providers == ["fake"]
            await dev.sms.send("+14155550100", "hi", "+15005550006")
            assert (tmp_path / "dev" / "sms.jsonl").is_file()
            made.extend([dev, test])

        def test_closed():
            assert all(h._closed for h in made)
        """,
    )
    result.assert_outcomes(passed=2)


def test_fixture_settings_keep_fakes_unless_a_provider_is_named() -> None:
    settings = fixture_settings({"email": {"default_from": "a@example.com"}})
    assert settings["email"]["providers"] == ["fake"]
    assert settings["email"]["default_from"] == "a@example.com"
    chosen = fixture_settings({"sms": {"provider": "local"}})
    assert chosen["sms"]["provider"] == "local"
    assert chosen["sms"]["providers"] == ["local"]
    assert chosen["sms"]["default_sender"] == "+15005550006"


# -- the cassette marker ----------------------------------------------------------------------


def test_cassette_is_active_in_async_fixtures_the_test_and_sync_tests(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import pytest
        from hub.testing.cassettes import current_cassette

        @pytest.fixture
        async def seen_by_fixture(anyio_backend):
            return current_cassette.get()

        @pytest.mark.anyio
        @pytest.mark.cassette("vendor/async_call")
        async def test_async(seen_by_fixture, hub_cassette, hub, pytestconfig):
            assert seen_by_fixture is hub_cassette
            assert current_cassette.get() is hub_cassette
            assert hub_cassette.path == pytestconfig.rootpath / "cassettes/vendor/async_call.json"
            assert hub_cassette.mode == "none"

        @pytest.mark.cassette("vendor/sync_call")
        def test_sync():
            assert current_cassette.get().path.name == "sync_call.json"

        @pytest.mark.anyio
        async def test_unmarked():
            assert current_cassette.get() is None
        """,
    )
    result.assert_outcomes(passed=3)


def test_cassette_names_default_to_the_module_and_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.cassette()

        class TestVendor:
            @pytest.mark.anyio
            @pytest.mark.parametrize("path", ["a/../b", "plain"])
            async def test_call(self, hub_cassette, path):
                names = {"a/../b": "TestVendor.test_call.a___b.json",
                         "plain": "TestVendor.test_call.plain.json"}
                assert hub_cassette.path.name == names[path]
                assert hub_cassette.path.parent.name == "inner"

            @pytest.mark.anyio
            @pytest.mark.cassette("acme/")
            async def test_prefix(self, hub_cassette):
                assert hub_cassette.path.name == "TestVendor.test_prefix.json"
                assert hub_cassette.path.parent.name == "acme"
        """,
    )
    result.assert_outcomes(passed=3)


def test_record_mode_from_option_env_and_marker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
        import os, pytest

        @pytest.mark.anyio
        @pytest.mark.cassette("a/b")
        async def test_default(hub_cassette):
            assert hub_cassette.mode == os.environ["EXPECTED_MODE"]

        @pytest.mark.anyio
        @pytest.mark.cassette("a/c", mode="all")
        async def test_marker_wins(hub_cassette):
            assert hub_cassette.mode == "all"
        """
    monkeypatch.setenv("EXPECTED_MODE", "new_episodes")
    monkeypatch.setenv("HUB_RECORD_MODE", "new_episodes")
    run(pytester, source).assert_outcomes(passed=2)
    monkeypatch.setenv("EXPECTED_MODE", "once")
    run(pytester, source, "--hub-record-mode=once").assert_outcomes(passed=2)


def test_a_bad_record_mode_stops_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_RECORD_MODE", "sometimes")
    result = run(pytester, "def test_x():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*HUB_RECORD_MODE='sometimes' is not a cassette mode*"])


def test_cassette_dir_option(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.anyio
        @pytest.mark.cassette("x/y")
        async def test_dir(hub_cassette, pytestconfig):
            assert hub_cassette.path == pytestconfig.invocation_params.dir / "rec/x/y.json"
        """,
        "--hub-cassette-dir=rec",
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("name", ["/abs/path", "a/../b", "a//b"])
def test_cassette_names_must_be_relative_paths(pytester: pytest.Pytester, name: str) -> None:
    item = pytester.getitem("def test_func(): pass")
    with pytest.raises(pytest.UsageError, match="must be a relative path"):
        cassette_name(pytest.mark.cassette(name).mark, item)


# -- recording through a hub provider, secrets redacted --------------------------------------


class EchoHandler(BaseHTTPRequestHandler):
    """A careless vendor that echoes the request, credentials included."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(
            {"id": "msg-1", "account": self.headers.get("X-Account"), "echo": json.loads(raw)}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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


ECHO_VENDOR = """
from pydantic import SecretStr

from hub.capabilities.email import EmailReceipt, RecipientResult
from hub.http import HttpProvider
from hub.settings import ProviderSettings


class EchoSettings(ProviderSettings):
    api_key: SecretStr
    base_url: str


class EchoProvider(HttpProvider):
    def __init__(self, settings, context):
        # A header no redaction rule knows by name: only the hub's own secrets cover it.
        key = settings.api_key.get_secret_value()
        super().__init__(context, base_url=settings.base_url, headers={"X-Account": key})
        self.key = key

    async def send(self, message, *, idempotency_key):
        import os
        payload = {"to": message.to[0].email, "subject": message.subject, "account": self.key,
                   "note": os.environ["ECHO_TOKEN"]}
        data = (await self.request("POST", "/send", json=payload)).json()
        return EmailReceipt(provider=self.name, provider_id=data["id"],
                            idempotency_key=idempotency_key,
                            recipients=[RecipientResult(email=payload["to"], status="queued")],
                            raw=data)
"""

ECHO_TEST = """
import os

import pytest

from hub.plugins import ProviderSpec, Registry, default_registry


@pytest.fixture
def echo_hub(make_hub):
    base = default_registry()
    spec = ProviderSpec("email", "echo", "echo_vendor:EchoProvider", "echo_vendor:EchoSettings")
    registry = Registry(dict(base.capabilities), {**base.providers, ("email", "echo"): spec})
    section = {"api_key": os.environ["ECHO_ACCOUNT"], "base_url": os.environ["ECHO_URL"]}
    return make_hub(registry=registry, email={"providers": ["echo"], "echo": section})


@pytest.mark.anyio
@pytest.mark.cassette("echo/send")
async def test_send(echo_hub):
    receipt = await echo_hub.email.send(
        {"from": "shop@example.com", "to": "ada@example.com",
         "subject": os.environ["ECHO_SUBJECT"], "text": "hi"}
    )
    assert receipt.provider_id == "msg-1"
"""


def leaked(text: str, secret: str) -> list[str]:
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
        json.dumps(secret)[1:-1],
    }
    return sorted(form for form in forms if form in text)


def test_records_through_a_hub_provider_without_secrets_then_replays_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not named like a credential: only the hub's own (SecretStr) setting makes it a secret.
    monkeypatch.setenv("ECHO_ACCOUNT", KEY)
    monkeypatch.setenv("ECHO_TOKEN", TOKEN)
    monkeypatch.setenv("ECHO_SUBJECT", "Welcome")
    with echo_server() as url:
        monkeypatch.setenv("ECHO_URL", url)
        recorded = run(pytester, ECHO_TEST, "--hub-record-mode=once", echo_vendor=ECHO_VENDOR)
        recorded.assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "echo" / "send.json"
    text = cassette.read_text()
    assert leaked(text, KEY) == []
    assert leaked(text, TOKEN) == []
    assert "<REDACTED>" in text
    assert json.loads(text)["interactions"][0]["request"]["body"]["json"]["subject"] == "Welcome"

    replayed = pytester.runpytest("-p", "no:cacheprovider")  # server gone, mode "none"
    replayed.assert_outcomes(passed=1)

    monkeypatch.setenv("ECHO_SUBJECT", "Goodbye")
    changed = pytester.runpytest("-p", "no:cacheprovider")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        [
            "*cassettes/echo/send.json: no recorded interaction matches POST*",
            '*JSON body $.subject: recorded "Welcome", got "Goodbye"*',
        ]
    )


def test_environment_secrets_are_values_of_credential_names() -> None:
    env = {
        "ACME_API_KEY": "k" * 12,
        "GITHUB_TOKEN": "t" * 12,
        "DB_PASSWORD": "p" * 12,
        "SHORT_KEY": "abc",
        "HOME": "/root/somewhere",
    }
    assert environment_secrets(env) == {"k" * 12, "t" * 12, "p" * 12}


# -- outbox assertions ------------------------------------------------------------------------


@pytest.fixture
async def fake_hub(tmp_path: Path) -> Any:
    async with Hub.from_settings(**fixture_settings(), env="test", data_dir=tmp_path) as made:
        yield made


@pytest.mark.anyio
async def test_assert_sent_finds_messages_and_returns_them(fake_hub: Hub) -> None:
    await fake_hub.email.send(
        to="ada@example.com", cc="grace@example.com", subject="Invoice", text="Total: 19.99"
    )
    await fake_hub.email.send(to="bob@example.com", subject="Hi", html="<p>Hello Bob</p>")
    found = assert_sent(fake_hub, to=["ada@example.com", "GRACE@example.com"], subject="Invoice")
    assert len(found) == 1
    assert found[0].sender == "tests@example.com"
    assert_sent(fake_hub.email, contains="Hello Bob", count=1)
    assert_sent(fake_hub, count=2)
    assert_sent(fake_hub, to="nobody@example.com", count=0)


@pytest.mark.anyio
async def test_assert_sent_failure_prints_the_whole_outbox(fake_hub: Hub) -> None:
    await fake_hub.email.send(to="ada@example.com", subject="Invoice", text="Total: 19.99")
    await fake_hub.email.send(to="bob@example.com", subject="Hi", html="<p>Hello Bob</p>")
    with pytest.raises(AssertionError) as caught:
        assert_sent(fake_hub, to="carl@example.com", subject="Invoice")
    message = str(caught.value)
    assert "expected at least 1 email message(s) matching to='carl@example.com'" in message
    assert "subject='Invoice'; found 0" in message
    assert "#1 email from tests@example.com to ada@example.com" in message
    assert "subject: 'Invoice'" in message
    assert "text: 'Total: 19.99'" in message
    assert "#2 email from tests@example.com to bob@example.com" in message
    assert "html: '<p>Hello Bob</p>'" in message
    with pytest.raises(AssertionError, match="exactly 3 email"):
        assert_sent(fake_hub, count=3)


@pytest.mark.anyio
async def test_assert_sent_on_sms_normalizes_numbers(fake_hub: Hub) -> None:
    with pytest.raises(AssertionError, match="The sms outbox is empty"):
        assert_sent(fake_hub.sms)
    await fake_hub.sms.send("+14155550100", "Your code is 123456")
    assert_sent(fake_hub.sms, to="+1 (415) 555-0100", contains="123456", count=1)
    with pytest.raises(ValueError, match="no subject"):
        assert_sent(fake_hub.sms, subject="Code")
    with pytest.raises(ValueError, match=r"E\.164"):
        assert_sent(fake_hub.sms, to="555-0100")


@pytest.mark.anyio
async def test_assert_sent_reads_the_local_providers_eml_files(tmp_path: Path) -> None:
    settings = {"email": {"provider": "local", "local": {"announce": False}}}
    async with Hub.from_settings(
        **fixture_settings(settings), env="development", data_dir=tmp_path
    ) as local:
        await local.email.send(
            to="Ada <ada@example.com>",
            bcc="audit@example.com",
            subject="Receipt",
            text="Thanks!",
            html="<p>Thanks!</p>",
        )
        (message,) = sent_messages(local)
        assert message.to == ("ada@example.com",)  # bcc never reaches the file
        assert "Thanks!" in (message.html or "")
        assert_sent(local, to="ada@example.com", subject="Receipt", contains="Thanks!")


def test_assert_sent_refuses_other_objects() -> None:
    with pytest.raises(TypeError, match=r"takes a Hub, hub\.email or hub\.sms"):
        assert_sent(object())


# -- docs/testing.md --------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs"


def example_files(markdown: Path) -> dict[str, str]:
    """Python blocks whose first line names a file (``# tests/test_x.py``), by file name."""
    files = {}
    for block in re.findall(r"```python\n(.*?)```", markdown.read_text(), flags=re.DOTALL):
        first, _, rest = block.partition("\n")
        if re.fullmatch(r"# (tests/)?(test_\w+|conftest)\.py", first):
            files[first[2:]] = rest
    return files


def test_the_testing_guide_examples_pass(pytester: pytest.Pytester) -> None:
    files = example_files(DOCS / "testing.md")
    assert {"conftest.py", "tests/test_signup.py", "tests/test_conformance.py"} <= set(files)
    for name, text in files.items():
        (pytester.path / Path(name).name).write_text(text)
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers", "-W", "error")
    outcomes = result.parseoutcomes()
    assert "failed" not in outcomes, result.stdout.str()[-3000:]
    assert "errors" not in outcomes, result.stdout.str()[-3000:]
    assert outcomes["passed"] >= 30
