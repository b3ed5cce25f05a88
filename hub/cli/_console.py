"""Console helpers shared by the commands: where output goes and how failures end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from hub.core import Hub


class _DeferredConsole:
    """A rich Console built on first use: importing rich costs more than `hub --help` itself."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        console = self._console
        if console is None:
            from rich.console import Console

            console = self._console = Console(stderr=self._stderr)
        return getattr(console, name)


def command_group(**options: Any) -> typer.Typer:
    """A Typer with click's plain help (typer's rich help imports rich, markdown, pygments)."""
    return typer.Typer(rich_markup_mode=None, **options)


out = cast("Console", _DeferredConsole(stderr=False))
err = cast("Console", _DeferredConsole(stderr=True))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error without a traceback and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def open_hub(capability: str | None = None, provider: str | None = None) -> Hub:
    """Build a Hub from settings, optionally forcing one capability onto one provider."""
    from hub.core import Hub
    from hub.settings import HubSettings

    settings = HubSettings.load()
    if capability and provider:
        section = settings.capability(capability)
        section.provider, section.providers = provider, None
    return Hub(settings)
