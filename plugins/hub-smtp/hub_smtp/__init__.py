"""SMTP for the integration hub: plugin hooks only (aiosmtplib is imported when configured)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_smtp"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            capability="email",
            name="smtp",
            factory=f"{_M}.provider:SmtpProvider",
            settings_model=f"{_M}.settings:SmtpSettings",
            # No templates, scheduling, batch API or vendor idempotency: SMTP has none of them.
            # Tags and metadata travel as X-Tags / X-Metadata headers.
            features=frozenset(
                {"attachments", "inline_attachments", "tags", "metadata", "custom_headers"}
            ),
            env_vars={
                "host": "SMTP_HOST",
                "port": "SMTP_PORT",
                "username": "SMTP_USERNAME",
                "password": "SMTP_PASSWORD",
            },
            description="any SMTP server (aiosmtplib): plain, STARTTLS or TLS, AUTH, one reused "
            "connection",
            docs_url="https://www.rfc-editor.org/rfc/rfc5321",
        )
    ]
