"""The ``hub`` command: typer + rich. Heavy imports happen inside commands, so --help is fast."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer

from hub.cli._console import command_group, err, fail

__all__ = ["app", "main", "run"]

T = TypeVar("T")

app = command_group(
    name="hub",
    help="Reach email, SMS, payments, storage and search vendors through one async API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def run(coro_fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    """Run one async command, turning every hub error into a message and exit code 1."""
    import anyio

    from hub.errors import HubError

    try:
        return anyio.run(coro_fn, *args)
    except HubError as exc:
        fail(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def _register() -> None:
    from hub.cli import _capabilities, _demo, _plugin_new, _plugins, _serve

    _demo.register(app)
    _plugins.register(app)
    _serve.register(app)
    _capabilities.register(app)
    _plugin_new.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    from hub.errors import HubError

    try:
        app()
    except HubError as exc:  # raised while building settings outside `run`
        fail(f"{type(exc).__name__}: {exc}")
    sys.exit(0)
