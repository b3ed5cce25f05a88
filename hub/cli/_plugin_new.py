"""``hub plugin new <vendor> --capability <cap>``: scaffold a plugin package to implement."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.cli._console import command_group, fail, out

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    plugin = command_group(
        name="plugin", help="Create plugins for new vendors.", no_args_is_help=True
    )
    plugin.command("new")(new)
    app.add_typer(plugin, name="plugin")


def new(
    vendor: str = typer.Argument(..., help="the provider's name, e.g. 'sendgrid'"),
    capability: str = typer.Option(
        ..., "--capability", "-c", help="email, sms, payments, storage or search"
    ),
    directory: Path = typer.Option(
        Path("plugins"), "--directory", "-d", help="where hub-<vendor>/ is created"
    ),
) -> None:
    """Write hub-<vendor>/: pyproject with the entry point, settings, a provider skeleton on
    hub.http, conformance tests against cassettes, and a README with the next steps."""
    from hub.errors import HubError
    from hub.scaffold import create_plugin

    try:
        path = create_plugin(vendor, capability, directory)
    except HubError as exc:
        fail(str(exc))
    out.print(f"created [bold]{path}[/]", highlight=False)
    out.print(
        "next:\n"
        f"  1. implement {path.name}/hub_{vendor}/provider.py (each method says what to map)\n"
        f"  2. pip install -e {path}    (then `hub plugins` lists {vendor!r})\n"
        f"  3. HUB_RECORD_MODE=once {vendor.upper()}_API_KEY=... pytest {path / 'tests'}\n"
        "     once against the sandbox; afterwards pytest replays the cassettes\n"
        "  see docs/writing-a-plugin.md",
        highlight=False,
    )
