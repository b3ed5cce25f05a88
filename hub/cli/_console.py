"""Console helpers shared by the commands: where output goes and how failures end."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

if TYPE_CHECKING:
    from hub.core import Hub


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
