"""The hub's pytest plugin, loaded through the ``pytest11`` entry point of ``integration-hub``.

Fixtures (async ones run on anyio: define ``anyio_backend`` in your conftest)::

    hub            a Hub wired to the fake providers, fresh per test, closed after it
    test_hub       the same fixture under a name that does not shadow ``import hub``
    hub_settings   overrides the ``hub`` fixture applies (override this fixture to change them)
    make_hub       make_hub(**settings) -> Hub, env="test" and data_dir=tmp_path by default
    hub_cassette   the active cassette of a test marked @pytest.mark.cassette

Marker ``@pytest.mark.cassette(name=None, mode=None)`` records or replays every HTTP exchange of
the hub's providers in ``<cassette dir>/<name>.json``. Options: ``--hub-record-mode``
(or ``HUB_RECORD_MODE``; default ``none``, which CI uses) and ``--hub-cassette-dir`` (default
``<rootdir>/cassettes``). See docs/testing.md.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from hub.errors import HubError
from hub.testing.cassettes import (
    CassetteTransport,
    Mode,
    activate,
    current_cassette,
    use_cassette,
)

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = [
    "MODES",
    "active_cassette",
    "cassette_name",
    "environment_secrets",
    "fixture_settings",
    "hub_secrets",
    "managed_hub",
    "share_secrets",
]

MODES: tuple[Mode, ...] = ("none", "once", "new_episodes", "all")
_SECRET_ENV_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD")
# Shorter values would scrub innocent text out of recordings.
_MIN_SECRET = 8
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._/-]+")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
_CAPABILITIES = ("email", "sms", "payments", "storage", "search")
_CASSETTE = pytest.StashKey[CassetteTransport]()
#: What the ``hub`` fixture configures before ``hub_settings`` is applied on top.
_FIXTURE_DEFAULTS: dict[str, Any] = {
    "state": {"url": "memory://"},
    "email": {"default_from": "Hub Tests <tests@example.com>"},
    "sms": {"default_sender": "+15005550006"},
}


# -- options and markers ------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hub", "integration hub")
    group.addoption(
        "--hub-record-mode",
        choices=MODES,
        default=None,
        help="cassette mode for @pytest.mark.cassette tests: none (replay only, the default "
        "and what CI runs), once, new_episodes or all; also read from HUB_RECORD_MODE",
    )
    group.addoption(
        "--hub-cassette-dir",
        default=None,
        help="where cassettes live (default: <rootdir>/cassettes)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cassette(name=None, mode=None): record/replay the hub's HTTP exchanges in "
        "<cassette dir>/<name>.json; a name ending in '/' (or none) adds the test's name",
    )
    _default_mode(config)  # a bad HUB_RECORD_MODE fails the run at once


def _default_mode(config: pytest.Config) -> Mode:
    option = config.getoption("hub_record_mode", default=None)
    if option is not None:
        return cast(Mode, option)
    value = os.environ.get("HUB_RECORD_MODE", "").strip().lower() or "none"
    if value not in MODES:
        raise pytest.UsageError(
            f"HUB_RECORD_MODE={value!r} is not a cassette mode; use one of {', '.join(MODES)}"
        )
    return value


def _cassette_dir(config: pytest.Config) -> Path:
    option = config.getoption("hub_cassette_dir", default=None)
    if option is None:
        return config.rootpath / "cassettes"
    return config.invocation_params.dir / Path(option)


def _marker_value(marker: pytest.Mark, position: int, name: str) -> Any:
    if name in marker.kwargs:
        return marker.kwargs[name]
    return marker.args[position] if len(marker.args) > position else None


def cassette_name(marker: pytest.Mark, node: pytest.Item) -> str:
    """The marker's name, completed with the test's name when it is empty or ends in '/'."""
    name = _marker_value(marker, 0, "name")
    if name is not None and not isinstance(name, str):
        raise pytest.UsageError(f"{node.nodeid}: cassette name must be a string, got {name!r}")
    if name is None:
        stem = node.path.stem
        name = (stem.removeprefix("test_") or stem) + "/"
    if name.endswith("/"):
        name += _test_label(node)
    name = name.removesuffix(".json")
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise pytest.UsageError(
            f"{node.nodeid}: cassette name {name!r} must be a relative path like "
            "'sendgrid/send_basic' (no empty, '.' or '..' parts)"
        )
    return name


def _test_label(node: pytest.Item) -> str:
    label = getattr(node, "originalname", None) or node.name
    cls = getattr(node, "cls", None)
    if cls is not None:
        label = f"{cls.__name__}.{label}"
    callspec = getattr(node, "callspec", None)
    if callspec is not None:
        ids = callspec.id.split("-")
        backend = callspec.params.get("anyio_backend")
        if isinstance(backend, str) and backend in ids:
            ids.remove(backend)  # one cassette whichever backend replays it
        if ids:
            label += "." + _UNSAFE_ID.sub("_", "-".join(ids)).replace("..", "_")
    return _SAFE_NAME.sub("_", label)


def _cassette_mode(marker: pytest.Mark, config: pytest.Config) -> Mode:
    mode = _marker_value(marker, 1, "mode")
    if mode is None:
        return _default_mode(config)
    if mode not in MODES:
        raise pytest.UsageError(f"cassette mode {mode!r} is not one of {', '.join(MODES)}")
    return cast(Mode, mode)


def _open_cassette(request: pytest.FixtureRequest, marker: pytest.Mark) -> dict[str, Any]:
    """Keyword arguments for ``use_cassette`` from the marker, the options and the env."""
    node = cast(pytest.Item, request.node)
    return {
        "name": cassette_name(marker, node),
        "directory": _cassette_dir(request.config),
        "mode": _cassette_mode(marker, request.config),
        "secrets": environment_secrets(),
        "redact_headers": tuple(marker.kwargs.get("redact_headers", ())),
        "redact_fields": tuple(marker.kwargs.get("redact_fields", ())),
    }


# -- secrets ------------------------------------------------------------------------------


def environment_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of variables named like a credential (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
    ``*PASSWORD*``), at least 8 characters long."""
    source = os.environ if environ is None else environ
    return {
        value
        for name, value in source.items()
        if _SECRET_ENV_NAME.search(name.upper()) and len(value) >= _MIN_SECRET
    }


def hub_secrets(hub: Hub) -> set[str]:
    """Every secret a hub knows of: what its providers registered, and its providers' settings.

    Settings are read without building a provider, so a secret is known before the first
    request is recorded; a section that does not validate is skipped (using it will fail).
    Values under 8 characters (``api_key="test"`` in a test) are left out: scrubbing them
    everywhere would mangle the recording, and no real credential is that short.
    """
    from hub.settings import secret_values

    found = set(hub._runtime.secrets)
    for capability in hub.registry.capabilities:
        with contextlib.suppress(HubError):
            section = hub.settings.capability(capability)
            for name in section.chain(hub.settings.env):
                with contextlib.suppress(HubError):
                    spec = hub.registry.provider(capability, name)
                    model = hub.provider_settings(spec, section.provider_section(name))
                    found.update(secret_values(model))
    return {value for value in found if len(value) >= _MIN_SECRET}


def _add_secrets(cassette: CassetteTransport, values: Iterable[str]) -> None:
    cassette.add_secrets(values)


def active_cassette(request: pytest.FixtureRequest | None = None) -> CassetteTransport | None:
    """The cassette of the running test: the one its marker opened, else the context's.

    Sync fixtures run outside anyio's runner task, where the context variable the async
    cassette fixture set is not visible; the test item remembers the cassette for them.
    """
    if request is not None:
        node = cast(pytest.Item, request.node)
        stashed = node.stash.get(_CASSETTE, None)
        if stashed is not None:
            return stashed
    return current_cassette.get()


def share_secrets(hub: Hub, cassette: CassetteTransport | None = None) -> None:
    """Tell ``cassette`` (default: the active one) every secret ``hub`` knows."""
    cassette = cassette if cassette is not None else current_cassette.get()
    if cassette is not None:
        _add_secrets(cassette, hub_secrets(hub))


@contextlib.asynccontextmanager
async def managed_hub(hub: Hub, cassette: CassetteTransport | None = None) -> AsyncIterator[Hub]:
    """Share ``hub``'s secrets with the cassette (default: the active one) before its first
    request and again at the end, and close the hub on the way out."""
    share_secrets(hub, cassette)
    try:
        yield hub
    finally:
        share_secrets(hub, cassette)  # providers built during the test may have added some
        await hub.aclose()


# -- fixtures -----------------------------------------------------------------------------


def fixture_settings(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``hub`` fixture's settings: every built-in capability on ``fake``, whatever
    ``HUB_*`` says, a default sender for email and SMS, memory state; ``overrides`` on top."""
    settings: dict[str, Any] = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in _FIXTURE_DEFAULTS.items()
    }
    for capability in _CAPABILITIES:
        section = settings.setdefault(capability, {})
        section.update(provider="fake", providers=["fake"])
    for key, value in (overrides or {}).items():
        base = settings.get(key)
        if key in _CAPABILITIES and isinstance(value, Mapping) and isinstance(base, dict):
            value = dict(value)
            if "provider" in value or "providers" in value:
                base = {k: v for k, v in base.items() if k not in ("provider", "providers")}
                if "providers" not in value:
                    value["providers"] = [value["provider"]]
            settings[key] = {**base, **value}
        elif isinstance(value, Mapping) and isinstance(base, dict):
            settings[key] = {**base, **value}
        else:
            settings[key] = value
    return settings


@pytest.fixture
async def make_hub(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: object
) -> AsyncIterator[Callable[..., Hub]]:
    """A factory of hubs closed at teardown: ``make_hub(env="development", sms={...})``.

    Keywords are settings (``env="test"`` and ``data_dir=tmp_path`` unless given), plus what
    ``Hub.from_settings`` injects: ``registry``, ``clock``, ``metrics_registry``,
    ``tracer_provider``. Secrets of every hub made join the active cassette's redaction.
    """
    from hub.core import Hub

    cassette = active_cassette(request)
    async with contextlib.AsyncExitStack() as stack:

        def factory(**settings: Any) -> Hub:
            made = Hub.from_settings(**{"env": "test", "data_dir": tmp_path, **settings})
            share_secrets(made, cassette)
            stack.push_async_callback(made.aclose)
            stack.callback(share_secrets, made, cassette)
            return made

        yield factory


@pytest.fixture
def hub_settings() -> dict[str, Any]:
    """Settings the ``hub`` fixture applies over its defaults; override this fixture to change
    them, e.g. ``return {"email": {"default_from": "shop@example.com"}}``."""
    return {}


@pytest.fixture
def hub(make_hub: Callable[..., Hub], hub_settings: Mapping[str, Any]) -> Hub:
    """A hub on the fake providers (outboxes, ``fail_next``), fresh for each test.

    A test that requests this fixture sees the Hub, not the ``hub`` module, under the name
    ``hub``; request ``test_hub`` instead where the test also uses ``import hub``.
    """
    return make_hub(**fixture_settings(hub_settings))


@pytest.fixture(name="test_hub")
def _test_hub(hub: Hub) -> Hub:
    """The ``hub`` fixture under a name that leaves the ``hub`` module visible in the test."""
    return hub


@pytest.fixture
async def hub_cassette(
    request: pytest.FixtureRequest, anyio_backend: object
) -> AsyncIterator[CassetteTransport]:
    """The cassette of a test marked ``@pytest.mark.cassette(...)``, active during the test."""
    marker = request.node.get_closest_marker("cassette")
    if marker is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses hub_cassette but has no @pytest.mark.cassette(name)"
        )
    async with use_cassette(**_open_cassette(request, marker)) as cassette:
        request.node.stash[_CASSETTE] = cassette
        try:
            yield cassette
        finally:
            del request.node.stash[_CASSETTE]


@pytest.fixture(autouse=True)
def _hub_cassette_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    """Activate the cassette of a marked test before any other fixture runs.

    Async tests get :func:`hub_cassette`, which runs in anyio's runner task, so the cassette
    (a context variable) is set for the test and its async fixtures; sync tests get it here.
    """
    marker = request.node.get_closest_marker("cassette")
    if marker is None:
        yield
        return
    if "anyio_backend" in request.fixturenames:
        request.getfixturevalue("hub_cassette")
        yield
        return
    options = _open_cassette(request, marker)
    name = options.pop("name")
    path = Path(options.pop("directory")) / f"{name}.json"
    cassette = CassetteTransport(path, **options)
    request.node.stash[_CASSETTE] = cassette
    try:
        with activate(cassette):
            yield
        cassette.save()
    finally:
        del request.node.stash[_CASSETTE]
