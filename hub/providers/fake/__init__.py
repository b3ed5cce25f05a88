"""``fake``: in-memory providers for tests, with outboxes and fault injection.

This module is the plugin entry (hooks only); each capability's provider lives in its own module.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub.providers.fake"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "email", "fake", f"{_M}.email:FakeEmailProvider", f"{_M}._faults:FakeSettings",
            features=frozenset({"attachments", "inline_attachments", "tags", "metadata",
                                "custom_headers", "templates", "batch", "scheduled_send",
                                "idempotency"}),
            webhook_events=("email.delivered",),
            description="keeps messages in memory (an outbox to inspect); can inject faults",
        ),
    ]
