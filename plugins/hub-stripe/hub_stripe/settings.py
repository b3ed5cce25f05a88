"""Stripe settings: ``[payments.stripe]`` / ``HUB_PAYMENTS__STRIPE__*``, or Stripe's own variables.

``secret_key`` also reads ``STRIPE_SECRET_KEY`` and ``webhook_secrets`` ``STRIPE_WEBHOOK_SECRET``
(comma-separated while an endpoint secret is being rolled). The key's prefix tells live from
test, so the hub refuses ``sk_live_…`` outside production.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from hub.settings import ProviderSettings

__all__ = ["DEFAULT_API_VERSION", "StripeSettings"]

#: The API version requests are pinned to unless ``api_version`` says otherwise.
DEFAULT_API_VERSION = "2026-09-30.endive"

_KEY = re.compile(r"^(sk|rk)_(live|test)_[A-Za-z0-9_]+$")
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


class StripeSettings(ProviderSettings):
    """How to reach Stripe and verify its webhooks."""

    secret_key: SecretStr | None = Field(
        None, description="secret (sk_…) or restricted (rk_…) API key; env STRIPE_SECRET_KEY"
    )
    webhook_secrets: list[SecretStr] = Field(
        default_factory=list,
        description="endpoint signing secrets (whsec_…), several while rolling one; env "
        "STRIPE_WEBHOOK_SECRET, comma-separated",
    )
    api_version: str = Field(DEFAULT_API_VERSION, description="Stripe-Version sent on every call")
    base_url: str = Field("https://api.stripe.com", description="API root (a stub in tests)")
    return_url: str | None = Field(
        None,
        description="where redirect-based payment methods return; without it charges allow "
        "only methods that need no redirect (cards, 3-D Secure included)",
    )

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _KEY.match(value.get_secret_value()):
            raise ValueError(
                "must be a Stripe secret key (sk_live_…/sk_test_…) or restricted key "
                "(rk_live_…/rk_test_…); a publishable key (pk_…) cannot move money"
            )
        return value

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str | SecretStr):
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("must be a dated Stripe API version such as '2026-09-30.endive'")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://api.stripe.com")
        return value.rstrip("/")

    def key_mode(self) -> Literal["live", "test"] | None:
        if self.secret_key is None:
            return None
        return "live" if "_live_" in self.secret_key.get_secret_value()[:8] else "test"
