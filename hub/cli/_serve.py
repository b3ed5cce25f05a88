"""``hub serve``: the webhook receiver (Starlette under uvicorn)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: str | None = typer.Option(None, help="bind address (default 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (default 8000)"),
    workers: int | None = typer.Option(None, help="worker processes"),
    handlers: list[str] = typer.Option(
        [], "--handlers", help='"module:attr" of a register(hub) function; repeatable'
    ),
) -> None:
    """Receive vendor webhooks on POST /webhooks/{provider} (plus /healthz and /metrics)."""
    from hub.settings import HubSettings
    from hub.webhooks.server import serve as run_server

    settings = HubSettings.load()
    overrides = {k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v}
    if overrides:
        settings.webhooks = settings.webhooks.model_copy(update=overrides)
    run_server(settings, handlers=handlers or settings.webhooks.handlers)
