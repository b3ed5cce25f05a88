"""``local``: embedded providers for development; files under ``.hub/``, nothing to sign up for.

This module is the plugin entry (hooks only); each capability's provider lives in its own
module, imported only when configured.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub.providers.local"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "email", "local", f"{_M}.email:LocalEmailProvider", f"{_M}.email:LocalEmailSettings",
            features=frozenset({"attachments", "inline_attachments", "tags", "metadata",
                                "custom_headers", "templates", "idempotency"}),
            webhook_events=("email.delivered",),
            description="writes each message as an .eml file under .hub/outbox/",
        ),
    ]
