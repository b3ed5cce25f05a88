"""docs/resilience.md, checked: every example runs, and every table matches the code.

Examples run straight from the Markdown (a test per code block), so the page cannot drift from
what it shows. A ``<!-- test: redis -->`` or ``<!-- test: <module> -->`` comment right above a
block names what it needs (the Redis server, an installed plugin); without it, it is skipped.
The helpers here (``code_blocks``, ``table``, ``run_python``) serve test_docs_observability.py.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

import hub
from hub._http_errors import Answer, status_error, transport_error
from hub.capabilities._service import Operation
from hub.errors import (
    CircuitOpen,
    HubError,
    PaymentDeclined,
    Timeout,
    Unavailable,
    UnsupportedFeature,
)
from hub.resilience.failover import Decision, decide
from hub.resilience.pipeline import counts_as_failure
from hub.resilience.policy import FailoverPolicy, ResiliencePolicy, merge_policy
from hub.resilience.retry import is_retryable
from hub.resilience.timeout import deadline_exceeded
from hub.settings import HubSettings
from tests.test_pipeline import registry_with

pytestmark = pytest.mark.usefixtures("isolated_env")

DOCS = Path(__file__).resolve().parents[1] / "docs"
RESILIENCE = DOCS / "resilience.md"


# -- reading Markdown -------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    path: Path
    line: int  # of the first line of code
    lang: str
    code: str
    heading: str
    needs: tuple[str, ...]

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")
        return f"{slug}-L{self.line}"


_NEEDS = re.compile(r"<!--\s*test:\s*(.+?)\s*-->")


def code_blocks(path: Path, *langs: str) -> list[Block]:
    """The fenced blocks of ``path`` (only those in ``langs``, if given), in order."""
    blocks: list[Block] = []
    heading, fence = "", None
    needs: tuple[str, ...] = ()
    lines: list[str] = []
    start = 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if fence is not None:
            if line.strip() == "```":
                blocks.append(Block(path, start, fence, "\n".join(lines) + "\n", heading, needs))
                fence, needs, lines = None, (), []
            else:
                lines.append(line)
        elif line.startswith("```"):
            fence, start = line[3:].strip(), number + 1
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif found := _NEEDS.search(line):
            needs = tuple(part.strip() for part in found.group(1).split(","))
        elif line.strip():
            needs = ()
    assert fence is None, f"{path.name}: a code block is never closed"
    return [b for b in blocks if not langs or b.lang in langs]


def table(path: Path, first_header: str, *, under: str = "") -> list[dict[str, str]]:
    """The rows of the first table whose first header cell is ``first_header`` (below a
    heading containing ``under``, if given), as dicts by header."""
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    heading = ""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            heading = line
        if not line.startswith("|"):
            if rows or header is not None:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            if cells[0] == first_header and under in heading:
                header = cells
        elif not set(cells[0]) <= set("-: "):
            rows.append(dict(zip(header, cells, strict=True)))
    assert rows, f"{path.name} has no table headed {first_header!r}"
    return rows


def unquote(cell: str) -> str:
    return cell.strip().strip("`")


async def run_python(
    block: Block, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Run one block as a script (top-level ``await`` allowed); its globals afterwards."""
    if "subprocess" in block.needs:  # it changes process-wide state (a global provider)
        _run_in_subprocess(block)
        return {}
    for need in block.needs:
        if need == "redis":
            monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
        else:
            pytest.importorskip(need)
    # Pad with blank lines so a traceback points at the line of the Markdown page.
    source = "\n" * (block.line - 1) + block.code
    code = compile(source, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, Any] = {"__name__": "__doc_example__"}
    result = eval(code, namespace)  # noqa: S307 - our own documentation
    if inspect.iscoroutine(result):
        await result
    return namespace


_RUNNER = """
import ast, asyncio, sys
source = sys.stdin.read()
code = compile(source, sys.argv[1], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__doc_example__"})
if asyncio.iscoroutine(result):
    asyncio.run(result)
"""


def _run_in_subprocess(block: Block) -> None:
    source = "\n" * (block.line - 1) + block.code
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(block.path)],
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# -- the examples -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("block", code_blocks(RESILIENCE, "python"), ids=lambda b: b.id)
async def test_example(
    block: Block, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_python(block, request, monkeypatch)
    if "redis" in block.needs:
        await _forget_redis_keys(block, request.getfixturevalue("redis_url"))


async def _forget_redis_keys(block: Block, url: str) -> None:
    import redis.asyncio

    prefix = re.search(r'"prefix": "([^"]+)"', block.code)
    assert prefix, "a Redis example sets its own state prefix, so the test can clean up"
    client = redis.asyncio.Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"{prefix.group(1)}*"):
            await client.delete(key)
    finally:
        await client.aclose()


def test_every_block_is_checked() -> None:
    assert {b.lang for b in code_blocks(RESILIENCE)} <= {"python", "toml", "bash", "text", ""}


@pytest.mark.parametrize("block", code_blocks(RESILIENCE, "toml"), ids=lambda b: b.id)
def test_toml_example_is_valid_settings(block: Block) -> None:
    Path("hub.toml").write_text(block.code)
    settings = HubSettings.load()
    assert settings.email.chain(settings.env)
    for name in settings.email.chain(settings.env):
        merge_policy(
            settings.email.resilience, settings.email.provider_section(name).get("resilience")
        )
    assert settings.email.resilience.failover.on_unavailable is True


@pytest.mark.parametrize("block", code_blocks(RESILIENCE, "bash"), ids=lambda b: b.id)
def test_environment_example_is_valid_settings(
    block: Block, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = dict(
        line.removeprefix("export ").split("#")[0].strip().split("=", 1)
        for line in block.code.splitlines()
        if line.strip()
    )
    assert all(name.startswith("HUB_") for name in variables)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = HubSettings.load()
    for name in settings.email.chain(settings.env) if settings.email.providers else []:
        policy = merge_policy(
            settings.email.resilience, settings.email.provider_section(name).get("resilience")
        )
        assert isinstance(policy, ResiliencePolicy)
    if "HUB_STATE__URL" in variables:
        assert settings.state.url == variables["HUB_STATE__URL"]


# -- the printed pipelines --------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_printed_pipelines_are_what_the_hub_builds() -> None:
    printed = [b.code.strip() for b in code_blocks(RESILIENCE, "text")]
    registry = registry_with("email", "sendgrid", features=frozenset())  # no own idempotency
    limited = {"concurrency": 4, "rate_limit": {"rate": 5}}
    shown = []
    for provider, resilience in (("sendgrid", limited), ("fake", {})):
        async with hub.Hub.from_settings(
            env="test",
            registry=registry,
            metrics_registry=CollectorRegistry(),
            email={"provider": provider, "resilience": resilience},
        ) as h:
            [pipeline] = h.pipelines("email")
            shown.append(repr(pipeline))
    assert printed == shown


@pytest.mark.anyio
async def test_the_accessors_name_what_is_wrong() -> None:
    email = {"providers": ["fake", "local"], "resilience": {"circuit_breaker": {"enabled": False}}}
    async with hub.Hub.from_settings(env="test", email=email) as h:
        with pytest.raises(hub.ConfigurationError, match="'sendgrid' is not in the email chain"):
            h.breaker("email", "sendgrid")
        with pytest.raises(hub.ConfigurationError, match=r"circuit_breaker\.enabled = false"):
            h.breaker("email", "fake")
        assert [p.stages()[-2:] for p in h.pipelines("email")] == [
            ["retry(attempts=3)", "attempt_timeout(10s)"]
        ] * 2  # no breaker stage either


@pytest.mark.anyio
async def test_the_breaker_given_is_the_one_calls_go_through() -> None:
    async with hub.Hub.from_settings(env="test", metrics_registry=CollectorRegistry()) as h:
        [pipeline] = h.pipelines("email")
        assert h.breaker("email", "fake") is pipeline.breaker


# -- the settings table -----------------------------------------------------------------------


def _policy_fields(model: Any = ResiliencePolicy, prefix: str = "") -> dict[str, Any]:
    """Every leaf setting of the policy, dotted, with its default."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        default = field.default
        if isinstance(default, BaseModel):
            out.update(_policy_fields(type(default), f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = default
    return out


def test_the_settings_table_lists_every_field_with_its_default_and_variable() -> None:
    rows = {unquote(row["setting"]): row for row in table(RESILIENCE, "setting")}
    fields = _policy_fields()
    assert list(rows) == list(fields)
    for setting, row in rows.items():
        assert json.loads(unquote(row["default"])) == fields[setting], setting
        env = "HUB_EMAIL__RESILIENCE__" + setting.upper().replace(".", "__")
        assert unquote(row["env"]) == env


def test_the_settings_table_variables_set_the_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: dict[str, Any] = {}
    for setting, default in _policy_fields().items():
        field = setting.rsplit(".", 1)[-1]
        value: Any = (
            (not default)
            if isinstance(default, bool)
            else 2
            if isinstance(default, int) or field in ("concurrency", "burst")
            else 0.75
            if field == "failure_rate"
            else 1.5
        )
        chosen[setting] = value
        env = "HUB_EMAIL__RESILIENCE__" + setting.upper().replace(".", "__")
        monkeypatch.setenv(env, str(value).lower())
    loaded = HubSettings.load().email.resilience.model_dump()
    for setting, value in chosen.items():
        group, _, field = setting.rpartition(".")
        assert (loaded[group] if group else loaded)[field] == value, setting


# -- the error table --------------------------------------------------------------------------

EMAIL = Operation(capability="email", name="send", idempotent=True, idempotency_key="k")
PLAIN = Operation(capability="email", name="send", idempotent=False)
CHARGE = Operation(
    capability="payments", name="charge", idempotent=True, idempotency_key="k", money_moves=True
)
WIDE = FailoverPolicy(on_unavailable=True, on_timeout=True)


def _status(status: int) -> HubError:
    answer = Answer(
        status=status,
        provider="acme",
        target="POST /send",
        message="",
        vendor_code=None,
        retry_after=None,
        rate_limit=None,
        body="",
        request_id=None,
    )
    return status_error(answer)


def _transport(exc: Exception) -> Callable[[bool], BaseException]:
    return lambda repeatable: transport_error(
        exc, provider="acme", target="POST /send", repeatable=repeatable
    )


_ROWS: dict[str, Callable[[bool], BaseException]] = {
    "connection refused, DNS, TLS handshake": _transport(httpx.ConnectError("refused")),
    "no pooled connection free in time": _transport(httpx.PoolTimeout("pool")),
    "read timeout": _transport(httpx.ReadTimeout("read")),
    "connection dropped after sending": _transport(httpx.RemoteProtocolError("dropped")),
    "the hub's attempt timeout or total deadline": lambda _: deadline_exceeded("acme", 30, 2),
    "card declined": lambda _: PaymentDeclined("no", provider="acme", decline_code="declined"),
    "the provider lacks a feature the call needs": lambda _: UnsupportedFeature(
        "no tags", feature="tags", provider="acme"
    ),
    "the breaker is open": lambda _: CircuitOpen("open", provider="acme", retry_in=1.0),
    "any other exception (a bug in a plugin)": lambda _: RuntimeError("bug"),
}
_NEVER_CALLED = (CircuitOpen, UnsupportedFeature)


def _retried(make: Callable[[bool], BaseException]) -> str:
    keyed = is_retryable(EMAIL, make(False))
    plain = is_retryable(PLAIN, make(False))
    repeatable = is_retryable(PLAIN, make(True))
    if plain:
        return "yes"
    if keyed:
        return "if idempotent"
    return "if repeatable" if repeatable else "no"


def _payments(exc: BaseException) -> str:
    decision = decide(CHARGE, exc, WIDE)  # the failover switches never apply to payments
    return {
        Decision.NEXT: "next provider",
        Decision.RAISE: "raised",
        Decision.UNKNOWN: "OutcomeUnknown",
    }[decision]


def _factories(answer: str) -> list[Callable[[bool], BaseException]]:
    if re.fullmatch(r"[\d, ]+", answer):
        return [partial(_by_status, int(s)) for s in answer.split(",")]
    return [_ROWS[answer]]


def _by_status(status: int, repeatable: bool) -> BaseException:
    return _status(status)


@pytest.mark.parametrize(
    "row", table(RESILIENCE, "vendor answer"), ids=lambda row: row["vendor answer"]
)
def test_the_error_table_row_is_what_the_pipeline_does(row: dict[str, str]) -> None:
    for make in _factories(row["vendor answer"]):
        error = make(False)
        documented = unquote(row["error"])
        if documented == "as raised":
            assert not isinstance(error, HubError)
        else:
            assert type(error).__name__ == documented
        assert _retried(make) == row["retried"]
        next_provider = decide(EMAIL, error, FailoverPolicy()) is Decision.NEXT
        assert ("yes" if next_provider else "no") == row["next provider"]
        assert _payments(error) == row["payments"]
        if row["breaker failure"] == "—":
            assert isinstance(error, _NEVER_CALLED)
        else:
            assert ("yes" if counts_as_failure(error) else "no") == row["breaker failure"]
        if isinstance(error, Unavailable | Timeout):  # the failover switches' footnote
            assert decide(EMAIL, error, WIDE) is Decision.NEXT


# -- the state store keys ---------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.redis
async def test_the_state_keys_table_names_every_key_the_hub_writes(redis_url: str) -> None:
    import redis.asyncio

    patterns = [_key_pattern(row["key (under the prefix)"]) for row in table(RESILIENCE, "what")]
    prefix = "docs-keys:"
    registry = registry_with("email", "forgetful", features=frozenset())
    email = {
        "provider": "forgetful",
        "default_from": "shop@example.com",
        "resilience": {"rate_limit": {"rate": 100}},
    }
    async with hub.Hub.from_settings(
        env="test",
        registry=registry,
        metrics_registry=CollectorRegistry(),
        state={"url": redis_url, "prefix": prefix},
        email=email,
    ) as h:

        @h.on("email.delivered")
        async def delivered(event: hub.HubEvent) -> None:
            pass

        await h.email.send(to="ada@example.com", subject="Hi", text="Hello", idempotency_key="k")
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = [key.decode()[len(prefix) :] async for key in client.scan_iter(match=f"{prefix}*")]
        for key in keys:
            await client.delete(f"{prefix}{key}")
    finally:
        await client.aclose()
    assert all(any(p.match(key) for p in patterns) for key in keys), keys
    assert all(any(p.match(key) for key in keys) for p in patterns), keys


def _key_pattern(cell: str) -> re.Pattern[str]:
    """``<capability>:breaker:<provider>`` → a regex where each ``<...>`` is one key segment."""
    found = re.match(r"`([^`]+)`", cell)
    assert found, cell
    return re.compile("^" + "[^:]+".join(map(re.escape, re.split(r"<[^>]+>", found[1]))) + "$")
