"""SendGrid settings: the API key, the data-residency region and the Event Webhook key(s)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from hub.errors import ConfigurationError
from hub.settings import ProviderSettings

__all__ = ["BASE_URLS", "SendGridSettings"]

#: API roots by region: EU subusers must use the EU host (data residency).
BASE_URLS: dict[str, str] = {
    "global": "https://api.sendgrid.com",
    "eu": "https://api.eu.sendgrid.com",
}


class SendGridSettings(ProviderSettings):
    """``[email.sendgrid]``; ``SENDGRID_API_KEY`` and ``SENDGRID_WEBHOOK_PUBLIC_KEY`` also work.

    Both credentials are optional here so that a process that only receives webhooks needs no
    API key (and a sender needs no webhook key); each is required where it is used.
    """

    api_key: SecretStr | None = Field(None, description="API key with Mail Send permission")
    region: Literal["global", "eu"] = Field(
        "global", description="'eu' sends through api.eu.sendgrid.com (EU regional subusers)"
    )
    webhook_public_key: list[str] = Field(
        default_factory=list,
        description="Signed Event Webhook verification key (base64); comma-separate two "
        "while rotating",
    )

    @field_validator("webhook_public_key", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def base_url(self) -> str:
        return BASE_URLS[self.region]

    def require_api_key(self) -> str:
        if self.api_key is None or not self.api_key.get_secret_value():
            raise ConfigurationError(
                "email provider 'sendgrid' needs an API key: set HUB_EMAIL__SENDGRID__API_KEY "
                "or SENDGRID_API_KEY (Settings > API Keys, with Mail Send permission)"
            )
        return self.api_key.get_secret_value()

    def require_webhook_keys(self) -> list[str]:
        if not self.webhook_public_key:
            raise ConfigurationError(
                "SendGrid webhooks need the verification key: set "
                "HUB_EMAIL__SENDGRID__WEBHOOK_PUBLIC_KEY or SENDGRID_WEBHOOK_PUBLIC_KEY "
                "(Settings > Mail Settings > Event Webhook > Signed Event Webhook)"
            )
        return list(self.webhook_public_key)
