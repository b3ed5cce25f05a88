"""Settings of the Vonage provider: ``[sms.vonage]`` / ``HUB_SMS__VONAGE__*``.

Also read from Vonage's conventional variables ``VONAGE_API_KEY``, ``VONAGE_API_SECRET``,
``VONAGE_SIGNATURE_SECRET`` and ``VONAGE_SIGNATURE_METHOD`` (see the ProviderSpec's
``env_vars``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from hub.errors import ConfigurationError
from hub.settings import ProviderSettings

__all__ = ["DEFAULT_BASE_URL", "Credentials", "SignatureMethod", "VonageSettings"]

#: The SMS API's host; ``POST /sms/json`` sends a message.
DEFAULT_BASE_URL = "https://rest.nexmo.com"

#: How ``sig`` is computed, as chosen in the Vonage Dashboard (API settings → signature
#: method): ``md5hash`` (Vonage's default, MD5 of the parameters and the secret) or an HMAC.
SignatureMethod = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]

_ENV_HINT = (
    "set VONAGE_API_KEY plus VONAGE_API_SECRET (or VONAGE_SIGNATURE_SECRET for signed "
    "requests), or HUB_SMS__VONAGE__API_KEY / __API_SECRET / __SIGNATURE_SECRET"
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """How requests authenticate: ``api_secret`` in the body, or a ``sig`` over the body."""

    api_key: str
    api_secret: str | None
    signature_secret: str | None
    signature_method: SignatureMethod

    def __repr__(self) -> str:
        mode = "signed" if self.signature_secret else "api_secret"
        return f"Credentials(api_key={self.api_key!r}, {mode})"


class VonageSettings(ProviderSettings):
    """Credentials, request signing and webhook verification of one Vonage account.

    Every credential is optional here so that a process that only receives webhooks needs
    no API secret (and a sender needs no signature secret); each is required where it is used.
    """

    api_key: str | None = Field(None, description="API key (Dashboard → API settings)")
    api_secret: SecretStr | None = Field(
        None, description="API secret; sent in the request body unless requests are signed"
    )
    signature_secret: SecretStr | None = Field(
        None,
        description="signature secret: signs requests (sig) instead of sending the API "
        "secret, and verifies signed delivery receipts and inbound messages",
    )
    previous_signature_secret: SecretStr | None = Field(
        None, description="the old signature secret, still accepted on webhooks while rotating"
    )
    signature_method: SignatureMethod = Field(
        "md5hash",
        description="md5hash (Vonage's default), md5, sha1, sha256 or sha512 (HMAC); must "
        "match the Dashboard",
    )
    sign_requests: bool | None = Field(
        None,
        description="sign requests with the signature secret instead of sending the API "
        "secret; default: whenever a signature secret is set",
    )
    allow_unsigned_webhooks: bool = Field(
        False,
        description="accept delivery receipts and inbound messages without a signature "
        "(the SMS API does not sign them unless Vonage enables it for the account)",
    )
    base_url: str = Field(DEFAULT_BASE_URL, description="the SMS API root (a proxy, a test server)")

    @field_validator("signature_method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> Any:
        return (
            value.strip().lower().replace(" ", "").replace("-", "")
            if isinstance(value, str)
            else value
        )

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        value = value.strip() if value is not None else None
        return value or None

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as 'https://rest.nexmo.com'")
        return value

    def credentials(self) -> Credentials:
        """What a sender needs; ConfigurationError naming the variables when it is missing."""
        if self.api_key is None:
            raise ConfigurationError(f"sms provider 'vonage' needs an API key: {_ENV_HINT}")
        api_secret = _value(self.api_secret)
        signature_secret = _value(self.signature_secret)
        sign = self.sign_requests if self.sign_requests is not None else bool(signature_secret)
        if sign and not signature_secret:
            raise ConfigurationError(
                "sms provider 'vonage' has sign_requests = true but no signature secret: set "
                "VONAGE_SIGNATURE_SECRET (Dashboard → API settings → signing secret)"
            )
        if not sign and not api_secret:
            raise ConfigurationError(f"sms provider 'vonage' needs an API secret: {_ENV_HINT}")
        return Credentials(
            api_key=self.api_key,
            # Vonage refuses a signed request that also carries the API secret (status 32).
            api_secret=None if sign else api_secret,
            signature_secret=signature_secret if sign else None,
            signature_method=self.signature_method,
        )

    def webhook_secrets(self) -> list[str]:
        """The signature secrets a webhook may be signed with, current first."""
        found = (_value(self.signature_secret), _value(self.previous_signature_secret))
        return [secret for secret in found if secret]


def _value(secret: SecretStr | None) -> str | None:
    if secret is None:
        return None
    return secret.get_secret_value() or None
