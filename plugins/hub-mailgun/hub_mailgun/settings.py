"""Settings of the Mailgun provider: ``[email.mailgun]`` / ``HUB_EMAIL__MAILGUN__*``.

Also read from Mailgun's conventional variables ``MAILGUN_API_KEY``, ``MAILGUN_DOMAIN`` and
``MAILGUN_WEBHOOK_SIGNING_KEY`` (see the ProviderSpec's ``env_vars``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from hub.settings import ProviderSettings

__all__ = ["REGION_URLS", "MailgunSettings"]

#: The Messages API root of each Mailgun region; a domain lives in exactly one.
REGION_URLS = {
    "us": "https://api.mailgun.net/v3/",
    "eu": "https://api.eu.mailgun.net/v3/",
}

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")


class MailgunSettings(ProviderSettings):
    """Credentials, sending domain and region of one Mailgun account."""

    api_key: SecretStr = Field(description="private API key (Mailgun → API Security)")
    domain: str = Field(description="the sending domain, e.g. mg.example.com")
    region: Literal["us", "eu"] = Field("us", description="where the domain lives: us or eu")
    webhook_signing_key: SecretStr | None = Field(
        None, description="HTTP webhook signing key (Mailgun → Sending → Webhooks)"
    )
    previous_webhook_signing_key: SecretStr | None = Field(
        None, description="the old signing key, still accepted while you rotate it"
    )
    base_url: str | None = Field(
        None, description="override the region's API root (a proxy or a test server)"
    )

    @field_validator("domain")
    @classmethod
    def _plain_domain(cls, value: str) -> str:
        value = value.strip().lower()
        if not _DOMAIN.match(value):
            raise ValueError(
                "must be the bare sending domain, like 'mg.example.com' (no scheme, path or @)"
            )
        return value

    @property
    def api_root(self) -> str:
        """The API root requests are relative to, ending in ``/v3/``."""
        return (self.base_url or REGION_URLS[self.region]).rstrip("/") + "/"

    def webhook_keys(self) -> list[str]:
        """The signing keys a webhook may be signed with, current first."""
        keys = (self.webhook_signing_key, self.previous_webhook_signing_key)
        return [k.get_secret_value() for k in keys if k is not None and k.get_secret_value()]
