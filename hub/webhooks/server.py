"""``hub serve``: the webhook receiver under uvicorn, bound to 127.0.0.1:8000 unless configured.

The app's event handlers live in its own code, so the server is told where: each entry of
``handlers`` is ``"module:attr"`` of a plain function ``register(hub)`` that adds handlers with
``@hub.on(...)``; it is called once per process, before the first request.

With ``settings.webhooks.workers > 1`` uvicorn starts worker processes, each importing
:func:`app_factory`, which builds its own Hub from the environment / ``.env`` / ``hub.toml`` (not
from the settings object given to :func:`serve`). Workers must share the dedupe state, so a
``memory://`` state store is refused there: configure ``HUB_STATE__URL=redis://…``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette

from hub.errors import ConfigurationError
from hub.plugins import import_string
from hub.settings import HubSettings, WebhookSettings
from hub.webhooks.app import create_app

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["APP_FACTORY", "app_factory", "register_handlers", "serve", "server_config"]

#: The import string uvicorn's worker processes load (``factory=True``).
APP_FACTORY = "hub.webhooks.server:app_factory"


def register_handlers(hub: Hub, targets: Sequence[str]) -> None:
    """Call each ``"module:attr"`` ``register(hub)`` function so it adds its event handlers."""
    for target in targets:
        register = import_string(target)
        if not callable(register):
            raise ConfigurationError(f"webhook handlers {target!r} is not a function")
        if register(hub) is not None:
            raise ConfigurationError(
                f"webhook handlers {target!r} must be a plain function register(hub) that "
                "returns None (decorate async handlers with @hub.on inside it)"
            )


def _configured_handlers(settings: HubSettings) -> list[str]:
    # ``WebhookSettings.handlers`` (HUB_WEBHOOKS__HANDLERS), where the settings model has it.
    return list(getattr(settings.webhooks, "handlers", None) or ())


def app_factory() -> Starlette:
    """A receiver over a Hub built from env / ``.env`` / ``hub.toml``, closed at shutdown."""
    from hub.core import Hub

    hub = Hub.from_settings()
    register_handlers(hub, _configured_handlers(hub.settings))
    return create_app(hub, close_hub=True)


def _options(settings: HubSettings) -> dict[str, Any]:
    webhooks = settings.webhooks
    return {
        "host": webhooks.host,
        "port": webhooks.port,
        "workers": webhooks.workers,
        "log_level": "info",
        "server_header": False,  # no need to tell the internet which server this is
        "ws": "none",  # plain HTTP only: no websocket library is loaded
    }


def server_config(settings: HubSettings, app: Any, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration ``serve`` uses: host, port and workers from ``settings``."""
    return uvicorn.Config(app, **{**_options(settings), **options})


def serve(settings: HubSettings | None = None, *, handlers: Sequence[str] = ()) -> None:
    """Run the receiver until interrupted (what ``hub serve`` calls).

    ``handlers`` are added to the configured ones (see the module docstring).
    """
    settings = settings if settings is not None else HubSettings.load()
    targets = [*_configured_handlers(settings), *handlers]
    if settings.webhooks.workers > 1:
        _serve_workers(settings, targets, explicit=bool(handlers))
        return
    from hub.core import Hub

    hub = Hub(settings)
    register_handlers(hub, targets)
    uvicorn.Server(server_config(settings, create_app(hub, close_hub=True))).run()


def _serve_workers(settings: HubSettings, targets: list[str], *, explicit: bool) -> None:
    workers = settings.webhooks.workers
    if settings.state.url.startswith("memory:"):
        raise ConfigurationError(
            f"{workers} workers need a shared state store to deduplicate events across "
            "processes: set HUB_STATE__URL=redis://host:6379/0, or use 1 worker"
        )
    if explicit:
        # Workers rebuild settings from the environment, so that is where handlers must be.
        if "handlers" not in WebhookSettings.model_fields:
            raise ConfigurationError(
                "handlers given to serve() reach worker processes only through "
                "HUB_WEBHOOKS__HANDLERS, which this hub's settings lack; use 1 worker"
            )
        os.environ["HUB_WEBHOOKS__HANDLERS"] = json.dumps(targets)
    uvicorn.run(APP_FACTORY, factory=True, **_options(settings))


if __name__ == "__main__":  # pragma: no cover - `python -m hub.webhooks.server`
    serve()
