"""Postmark settings: the server token, the message stream and the webhook's Basic credentials."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from hub.errors import ConfigurationError
from hub.settings import ProviderSettings

__all__ = ["TEST_TOKEN", "PostmarkSettings"]

#: Postmark's documented token that validates requests without sending anything.
TEST_TOKEN = "POSTMARK_API_TEST"  # noqa: S105 - a public, documented value


class PostmarkSettings(ProviderSettings):
    """``[email.postmark]``; ``POSTMARK_SERVER_TOKEN`` also works.

    The token is optional here so that a process that only receives webhooks needs none; the
    sending provider requires it.
    """

    server_token: SecretStr | None = Field(
        None, description="Server API token (X-Postmark-Server-Token)"
    )
    message_stream: str | None = Field(
        None, description="message stream to send through (Postmark's default: 'outbound')"
    )
    webhook_username: str | None = Field(
        None, description="user name in the webhook URL's Basic credentials"
    )
    webhook_password: SecretStr | None = Field(
        None, description="password in the webhook URL's Basic credentials"
    )
    webhook_previous_passwords: list[SecretStr] = Field(
        default_factory=list, description="passwords still accepted while rotating"
    )

    @field_validator("webhook_previous_passwords", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def key_mode(self) -> Literal["live", "test"] | None:
        token = self.server_token.get_secret_value() if self.server_token else None
        return "test" if token == TEST_TOKEN else None

    def require_token(self) -> str:
        if self.server_token is None or not self.server_token.get_secret_value():
            raise ConfigurationError(
                "email provider 'postmark' needs a server token: set "
                "HUB_EMAIL__POSTMARK__SERVER_TOKEN or POSTMARK_SERVER_TOKEN (Server > API Tokens)"
            )
        return self.server_token.get_secret_value()

    def require_webhook_credentials(self) -> tuple[str, list[str]]:
        """The user name and every accepted password (current first)."""
        if not self.webhook_username or self.webhook_password is None:
            raise ConfigurationError(
                "Postmark webhooks need Basic credentials: set "
                "HUB_EMAIL__POSTMARK__WEBHOOK_USERNAME and HUB_EMAIL__POSTMARK__WEBHOOK_PASSWORD "
                "and use https://<user>:<password>@<your host>/webhooks/postmark as webhook URL"
            )
        passwords = [self.webhook_password, *self.webhook_previous_passwords]
        found = [p.get_secret_value() for p in passwords if p.get_secret_value()]
        if not found:
            raise ConfigurationError("Postmark webhook password must not be empty")
        return self.webhook_username, found
