"""Twilio settings: ``[sms.twilio]`` / ``[sms.twilio_verify]`` or ``HUB_SMS__TWILIO__*``.

Also read from Twilio's conventional variables (``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``,
``TWILIO_API_KEY``, ``TWILIO_API_SECRET``, ...; see the ProviderSpecs' ``env_vars``). Requests
authenticate with an API key when one is configured, else with the account's auth token;
webhooks are always signed with the auth token, so a receiver needs that one.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, HttpUrl, SecretStr, ValidationInfo, field_validator

from hub.errors import ConfigurationError
from hub.settings import ProviderSettings

__all__ = ["API_URL", "VERIFY_URL", "TwilioSettings"]

#: Programmable Messaging's API root.
API_URL = "https://api.twilio.com"
#: Verify v2's API root.
VERIFY_URL = "https://verify.twilio.com"

#: SID fields -> (prefix, what the SID names).
_SIDS = {
    "account_sid": ("AC", "Twilio Account SID"),
    "api_key_sid": ("SK", "Twilio API key SID"),
    "messaging_service_sid": ("MG", "Twilio Messaging Service SID"),
    "verify_service_sid": ("VA", "Twilio Verify Service SID"),
}
_SID = {prefix: re.compile(rf"^{prefix}[0-9a-fA-F]{{32}}$") for prefix, _ in _SIDS.values()}


class TwilioSettings(ProviderSettings):
    """One Twilio account: its SID, credentials, default sender pool and Verify service."""

    account_sid: str | None = Field(None, description="Account SID (AC…), Console > Account Info")
    auth_token: SecretStr | None = Field(
        None, description="the account's auth token; also what signs webhooks"
    )
    api_key_sid: str | None = Field(
        None, description="API key SID (SK…); used for requests instead of the auth token"
    )
    api_key_secret: SecretStr | None = Field(None, description="the API key's secret")
    messaging_service_sid: str | None = Field(
        None, description="Messaging Service (MG…) to send through; its sender pool applies"
    )
    verify_service_sid: str | None = Field(
        None, description="Verify service (VA…) that twilio_verify starts and checks codes with"
    )
    status_callback: HttpUrl | None = Field(
        None, description="default StatusCallback URL for messages that name none"
    )
    webhook_auth_tokens: list[SecretStr] = Field(
        default_factory=list,
        description="further auth tokens accepted on webhooks, e.g. the secondary token while "
        "rotating; comma-separated in env",
    )
    base_url: str = Field(API_URL, description="Messaging API root (a proxy or a test server)")
    verify_base_url: str = Field(VERIFY_URL, description="Verify API root (idem)")

    @field_validator("account_sid", "api_key_sid", "messaging_service_sid", "verify_service_sid")
    @classmethod
    def _sid_shape(cls, value: Any, info: ValidationInfo) -> Any:
        prefix, what = _SIDS[info.field_name or ""]
        if value is None or (isinstance(value, str) and _SID[prefix].fullmatch(value.strip())):
            return value.strip() if isinstance(value, str) else value
        raise ValueError(f"must be a {what}: {prefix!r} followed by 32 hex digits")

    @field_validator("webhook_auth_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("base_url", "verify_base_url")
    @classmethod
    def _root(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as 'https://api.twilio.com'")
        return value.rstrip("/")

    # -- what the providers and the webhook handler need --------------------------------

    def require_account_sid(self) -> str:
        if not self.account_sid:
            raise ConfigurationError(
                "sms provider 'twilio' needs the Account SID: set HUB_SMS__TWILIO__ACCOUNT_SID "
                "or TWILIO_ACCOUNT_SID (Twilio Console > Account Info)"
            )
        return self.account_sid

    def credentials(self) -> tuple[str, str]:
        """The basic-auth pair: (API key SID, secret) when configured, else (Account SID, token)."""
        account = self.require_account_sid()
        if self.api_key_sid or self.api_key_secret:
            if not (self.api_key_sid and _value(self.api_key_secret)):
                raise ConfigurationError(
                    "a Twilio API key needs both its SID and its secret: set "
                    "TWILIO_API_KEY and TWILIO_API_SECRET (or HUB_SMS__TWILIO__API_KEY_SID and "
                    "HUB_SMS__TWILIO__API_KEY_SECRET)"
                )
            return self.api_key_sid, _value(self.api_key_secret)
        token = _value(self.auth_token)
        if not token:
            raise ConfigurationError(
                "sms provider 'twilio' needs credentials: set TWILIO_AUTH_TOKEN (or "
                "HUB_SMS__TWILIO__AUTH_TOKEN), or an API key with TWILIO_API_KEY and "
                "TWILIO_API_SECRET"
            )
        return account, token

    def require_verify_service(self) -> str:
        if not self.verify_service_sid:
            raise ConfigurationError(
                "sms provider 'twilio_verify' needs a Verify service: set "
                "HUB_SMS__TWILIO_VERIFY__VERIFY_SERVICE_SID or TWILIO_VERIFY_SERVICE_SID "
                "(Console > Verify > Services, the VA… SID)"
            )
        return self.verify_service_sid

    def webhook_tokens(self) -> list[str]:
        """Auth tokens a webhook may be signed with, the current one first."""
        tokens = [_value(self.auth_token), *(_value(t) for t in self.webhook_auth_tokens)]
        found = [t for t in tokens if t]
        if not found:
            raise ConfigurationError(
                "Twilio webhooks are signed with the account's auth token: set "
                "TWILIO_AUTH_TOKEN or HUB_SMS__TWILIO__AUTH_TOKEN (an API key cannot verify them)"
            )
        return found


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""
