"""The only place that builds HTTP clients for providers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["open_client"]


def open_client(context: ProviderContext, **options: Any) -> httpx.AsyncClient:
    settings = context.hub_settings.http
    options.setdefault("timeout", settings.timeout)
    return httpx.AsyncClient(**options)
