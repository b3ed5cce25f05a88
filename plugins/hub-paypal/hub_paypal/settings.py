"""PayPal settings: ``[payments.paypal]`` / ``HUB_PAYMENTS__PAYPAL__*``, or PayPal's variables.

``client_id``/``client_secret`` also read ``PAYPAL_CLIENT_ID``/``PAYPAL_CLIENT_SECRET`` and
``webhook_id`` ``PAYPAL_WEBHOOK_ID``. The API root follows ``HUB_ENV`` (live in production,
sandbox elsewhere) unless ``base_url`` names one; a live root outside production, or the sandbox
in production, is refused like a live or test key would be.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from hub.settings import ProviderSettings

__all__ = ["LIVE_URL", "SANDBOX_URL", "PayPalSettings"]

LIVE_URL = "https://api-m.paypal.com"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"
_LIVE_HOSTS = ("https://api-m.paypal.com", "https://api.paypal.com")
_SANDBOX_HOSTS = ("https://api-m.sandbox.paypal.com", "https://api.sandbox.paypal.com")


class PayPalSettings(ProviderSettings):
    """How to reach PayPal and verify its webhooks."""

    client_id: str | None = Field(None, description="REST app client id; env PAYPAL_CLIENT_ID")
    client_secret: SecretStr | None = Field(
        None, description="REST app secret; env PAYPAL_CLIENT_SECRET"
    )
    webhook_id: tuple[str, ...] = Field(
        (),
        description="id of the webhook registered for your URL (PAYPAL_WEBHOOK_ID); several, "
        "comma-separated, while moving to a new registration",
    )
    base_url: str | None = Field(
        None, description="API root; default live with HUB_ENV=production, sandbox otherwise"
    )
    vault_source: Literal["card", "paypal", "venmo"] = Field(
        "card",
        description="payment_source a bare payment_method vault id is sent as; a "
        "'paypal:<id>' style prefix overrides it per charge",
    )
    return_url: str | None = Field(
        None, description="where PayPal sends the buyer after approving an order"
    )
    cancel_url: str | None = Field(
        None, description="where PayPal sends the buyer who cancels an approval"
    )
    request_id_ttl: float = Field(
        7 * 86_400.0,
        gt=0,
        description="seconds the hub remembers which request an idempotency key was used for",
    )

    @field_validator("webhook_id", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://api-m.sandbox.paypal.com")
        return None if value is None else value.rstrip("/")

    def key_mode(self) -> Literal["live", "test"] | None:
        """PayPal's credentials do not say live or test; the API root they are sent to does."""
        if self.base_url is None:
            return None
        if self.base_url.startswith(_LIVE_HOSTS):
            return "live"
        return "test" if self.base_url.startswith(_SANDBOX_HOSTS) else None
