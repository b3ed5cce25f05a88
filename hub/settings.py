"""Settings: one :class:`HubSettings` read from arguments, env, ``.env`` and ``hub.toml``.

Priority, highest first: keyword arguments, environment (``HUB_EMAIL__PROVIDER=ses``; nested
keys joined by ``__``), the ``.env`` file, then ``hub.toml`` (or the file ``HUB_CONFIG`` names).

Each capability section names a provider (or a chain) and a resilience policy; the provider's
own section (``[email.sendgrid]`` / ``HUB_EMAIL__SENDGRID__API_KEY``) is validated by the
provider's settings model, which also reads the vendor's conventional variables
(``SENDGRID_API_KEY``) at lower priority. Secrets are ``SecretStr`` everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import (
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hub.errors import ConfigurationError
from hub.resilience.policy import ResiliencePolicy

__all__ = [
    "CapabilitySettings",
    "EmailSettings",
    "Environment",
    "HttpSettings",
    "HubSettings",
    "ProviderSettings",
    "StateSettings",
    "WebhookSettings",
    "format_validation_error",
]


class Environment(StrEnum):
    """Where the hub runs; chooses default providers and guards keys."""

    TEST = "test"
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


#: The provider a capability uses when none is configured, per environment.
DEFAULT_PROVIDER: dict[Environment, str | None] = {
    Environment.TEST: "fake",
    Environment.DEVELOPMENT: "local",
    Environment.STAGING: None,
    Environment.PRODUCTION: None,
}


class ProviderSettings(BaseModel):
    """Base of every provider's settings model.

    Override :meth:`key_mode` where a vendor's keys tell live from test (``sk_live_`` /
    ``sk_test_``) so the hub can refuse a live key outside production.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    resilience: dict[str, Any] | None = Field(
        None, description="overrides of the capability's resilience policy for this provider"
    )
    http: dict[str, Any] | None = Field(
        None, description="overrides of the [http] settings (timeout, pool) for this provider"
    )

    def key_mode(self) -> Literal["live", "test"] | None:
        return None


class CapabilitySettings(BaseModel):
    """A capability's section: which provider(s), and how calls to them behave.

    Provider sections are extra keys (``sendgrid = {...}``), validated later by the provider.
    """

    model_config = ConfigDict(extra="allow")

    provider: str | None = Field(None, description="the provider to use")
    providers: list[str] | None = Field(
        None, description="a failover chain, tried in order; overrides `provider`"
    )
    resilience: ResiliencePolicy = ResiliencePolicy()

    @field_validator("providers", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def chain(self, env: Environment) -> list[str]:
        """Provider names in failover order; empty when nothing is configured for ``env``."""
        if self.providers:
            return list(self.providers)
        if self.provider:
            return [self.provider]
        default = DEFAULT_PROVIDER[env]
        return [default] if default else []

    def provider_section(self, name: str) -> dict[str, Any]:
        extra = self.model_extra or {}
        section = extra.get(name, {})
        if not isinstance(section, dict):
            raise ConfigurationError(
                f"settings for provider {name!r} must be a table/object, got {section!r}"
            )
        return section


class EmailSettings(CapabilitySettings):
    default_from: str | None = Field(
        None, description="sender used when a message has none, e.g. 'Shop <shop@example.com>'"
    )


class SmsSettings(CapabilitySettings):
    default_sender: str | None = Field(None, description="E.164 number or alphanumeric id")


class StateSettings(BaseModel):
    """Where breaker state, rate-limit buckets, idempotency records and dedupe keys live."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field("memory://", description="memory:// (one process) or redis://host:port/db")
    prefix: str = Field("hub:", description="key prefix in a shared store")


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transport: Literal["auto", "httpx", "aiohttp"] = "auto"
    timeout: float = Field(10.0, gt=0, description="default per-request timeout, seconds")
    max_connections: int = Field(100, ge=1)
    max_keepalive_connections: int = Field(20, ge=0)


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1)
    tolerance: float = Field(300.0, gt=0, description="accepted clock skew of signed timestamps")
    public_url: AnyUrl | None = Field(
        None, description="the URL vendors post to, when a proxy rewrites it (Twilio signs it)"
    )
    builtin_secrets: list[SecretStr] = Field(
        default_factory=list,
        description="whsec_ secrets of the local/fake providers' webhooks, newest first",
    )
    handlers: list[str] = Field(
        default_factory=list,
        description='"module:attr" of register(hub) functions that `hub serve` calls per worker',
    )


class HubSettings(BaseSettings):
    """All of the hub's configuration. See docs/configuration.md for every field."""

    model_config = SettingsConfigDict(
        env_prefix="HUB_",
        env_nested_delimiter="__",
        # `null` switches a limit off (docs/resilience.md) in the environment too.
        env_parse_none_str="null",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="allow",
        validate_default=True,
    )

    env: Environment = Field(
        Environment.DEVELOPMENT, description="test|development|staging|production"
    )
    data_dir: Path = Field(Path(".hub"), description="where local providers keep their files")
    allow_test_providers_in_production: bool = Field(
        False, description="let fake/local providers and test keys run with HUB_ENV=production"
    )
    email: EmailSettings = EmailSettings()
    sms: SmsSettings = SmsSettings()
    payments: CapabilitySettings = CapabilitySettings()
    storage: CapabilitySettings = CapabilitySettings()
    search: CapabilitySettings = CapabilitySettings()
    state: StateSettings = StateSettings()
    http: HttpSettings = HttpSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("HUB_CONFIG", "hub.toml")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        return init_settings, env_settings, dotenv_settings, toml

    @classmethod
    def load(cls, **overrides: Any) -> HubSettings:
        """Read settings, turning pydantic's errors into one ConfigurationError that says how."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigurationError(format_validation_error(exc, prefix="HUB_")) from None

    def capability(self, name: str) -> CapabilitySettings:
        """The section of a capability, including ones that plugins add (plain tables)."""
        section = getattr(self, name, None)
        if isinstance(section, CapabilitySettings):
            return section
        extra = (self.model_extra or {}).get(name, {})
        try:
            return CapabilitySettings.model_validate(extra)
        except ValidationError as exc:
            raise ConfigurationError(format_validation_error(exc, prefix=f"[{name}] ")) from None


def conventional_env(names: Mapping[str, str]) -> dict[str, str]:
    """Values of a vendor's conventional variables (``SENDGRID_API_KEY``) from env or ``.env``."""
    dotenv = (
        {k: v for k, v in dotenv_values(".env").items() if v is not None}
        if Path(".env").is_file()
        else {}
    )
    found: dict[str, str] = {}
    for field_name, var in names.items():
        value = os.environ.get(var, dotenv.get(var))
        if value is not None:
            found[field_name] = value
    return found


def format_validation_error(exc: ValidationError, *, prefix: str = "") -> str:
    """One readable line per problem, never echoing the offending value (it may be a secret).

    With the ``HUB_`` prefix a problem is named by its environment variable and its dotted
    path, the two ways to set it (``HUB_EMAIL__RESILIENCE__CONCURRENCY (email.resilience…)``).
    """
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        if prefix == "HUB_" and error["loc"]:
            variable = "__".join(str(part) for part in error["loc"]).upper()
            lines.append(f"  HUB_{variable} ({location}): {error['msg']}")
        else:
            lines.append(f"  {prefix}{location}: {error['msg']}")
    return "invalid settings:\n" + "\n".join(lines)


def secret_values(model: BaseModel) -> list[str]:
    """Every SecretStr value in a settings model, for redaction."""
    found: list[str] = []
    for value in model.__dict__.values():
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
    return found
