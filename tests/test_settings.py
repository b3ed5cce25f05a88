"""Settings precedence (arguments > env > .env > hub.toml), provider sections and key guards."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

import hub
from hub.plugins import ProviderSpec, Registry, discover
from hub.settings import Environment, HubSettings, ProviderSettings

pytestmark = pytest.mark.usefixtures("isolated_env")


def test_defaults_choose_providers_by_environment() -> None:
    assert HubSettings.load().env is Environment.DEVELOPMENT
    assert HubSettings.load().email.chain(Environment.DEVELOPMENT) == ["local"]
    assert HubSettings.load().email.chain(Environment.TEST) == ["fake"]
    assert HubSettings.load().email.chain(Environment.PRODUCTION) == []


def test_precedence_arguments_env_dotenv_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("hub.toml").write_text(
        'env = "staging"\n[email]\nprovider = "from_toml"\ndefault_from = "toml@example.com"\n'
        '[sms]\nprovider = "toml_sms"\n[payments]\nprovider = "toml_pay"\n'
    )
    Path(".env").write_text("HUB_EMAIL__PROVIDER=from_dotenv\nHUB_SMS__PROVIDER=dotenv_sms\n")
    monkeypatch.setenv("HUB_EMAIL__PROVIDER", "from_env")
    settings = HubSettings.load()
    assert settings.email.provider == "from_env"  # env beats .env and toml
    assert settings.sms.provider == "dotenv_sms"  # .env beats toml
    assert settings.payments.provider == "toml_pay"  # toml is the base
    assert settings.email.default_from == "toml@example.com"  # sections merge, not replace
    assert settings.env is Environment.STAGING
    assert HubSettings.load(email={"provider": "from_args"}).email.provider == "from_args"


def test_hub_config_names_another_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("other.toml").write_text('[search]\nprovider = "elsewhere"\n')
    monkeypatch.setenv("HUB_CONFIG", "other.toml")
    assert HubSettings.load().search.provider == "elsewhere"


def test_chain_from_comma_list_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_EMAIL__PROVIDERS", "sendgrid, ses")
    monkeypatch.setenv("HUB_SMS__PROVIDERS", '["twilio", "vonage"]')
    settings = HubSettings.load()
    assert settings.email.chain(Environment.PRODUCTION) == ["sendgrid", "ses"]
    assert settings.sms.chain(Environment.PRODUCTION) == ["twilio", "vonage"]


def test_provider_sections_and_resilience_overrides_from_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_EMAIL__SENDGRID__API_KEY", "SG.secret")
    monkeypatch.setenv("HUB_EMAIL__SENDGRID__RESILIENCE__RETRY__ATTEMPTS", "5")
    monkeypatch.setenv("HUB_EMAIL__RESILIENCE__TIMEOUT__ATTEMPT", "2.5")
    settings = HubSettings.load()
    section = settings.email.provider_section("sendgrid")
    assert section["api_key"] == "SG.secret"
    assert section["resilience"] == {"retry": {"attempts": "5"}}
    assert settings.email.resilience.timeout.attempt == 2.5


def test_invalid_settings_say_where_without_echoing_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_ENV", "prod-ish")
    monkeypatch.setenv("HUB_HTTP__TIMEOUT", "-1")
    with pytest.raises(hub.ConfigurationError) as info:
        HubSettings.load()
    message = str(info.value)
    # Named as the variable to set, and as the hub.toml path.
    assert "HUB_ENV (env)" in message
    assert "HUB_HTTP__TIMEOUT (http.timeout)" in message
    assert "prod-ish" not in message


def test_null_in_the_environment_switches_a_limit_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/resilience.md: "`null` switches a limit off" -- in variables as in hub.toml."""
    monkeypatch.setenv("HUB_SMS__RESILIENCE__TIMEOUT__ATTEMPT", "null")
    monkeypatch.setenv("HUB_SMS__TWILIO__RESILIENCE__TIMEOUT__TOTAL", "null")
    settings = HubSettings.load()
    assert settings.sms.resilience.timeout.attempt is None
    assert settings.sms.resilience.timeout.total == 30.0
    assert settings.sms.provider_section("twilio")["resilience"] == {"timeout": {"total": None}}


class KeyedSettings(ProviderSettings):
    api_key: SecretStr
    region: str = "us"

    def key_mode(self) -> str | None:  # type: ignore[override]
        value = self.api_key.get_secret_value()
        return (
            "live" if value.startswith("live_") else "test" if value.startswith("test_") else None
        )


def _registry_with_keyed_provider() -> Registry:
    registry = discover(include_installed=False)
    registry.providers[("email", "keyed")] = ProviderSpec(
        "email",
        "keyed",
        "hub.providers.fake.email:FakeEmailProvider",
        "tests.test_settings:KeyedSettings",
        env_vars={"api_key": "KEYED_API_KEY"},
    )
    return registry


def test_conventional_vendor_variable_is_read_at_lower_priority(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = _registry_with_keyed_provider()
    monkeypatch.setenv("KEYED_API_KEY", "test_conventional")
    h = hub.Hub(HubSettings.load(email={"provider": "keyed"}), registry=registry)
    spec = registry.provider("email", "keyed")
    assert h.provider_settings(spec, {}).api_key.get_secret_value() == "test_conventional"  # type: ignore[attr-defined]
    explicit = h.provider_settings(spec, {"api_key": "test_explicit"})
    assert explicit.api_key.get_secret_value() == "test_explicit"  # type: ignore[attr-defined]


def test_missing_required_setting_names_both_variables() -> None:
    registry = _registry_with_keyed_provider()
    h = hub.Hub(HubSettings.load(email={"provider": "keyed"}), registry=registry)
    with pytest.raises(hub.ConfigurationError) as info:
        h.service("email")
    message = str(info.value)
    assert "HUB_EMAIL__KEYED__api_key" in message
    assert "KEYED_API_KEY" in message


def test_live_key_refused_outside_production() -> None:
    registry = _registry_with_keyed_provider()
    settings = HubSettings.load(
        env="staging", email={"provider": "keyed", "keyed": {"api_key": "live_abcdef"}}
    )
    with pytest.raises(hub.ConfigurationError, match="live key") as info:
        hub.Hub(settings, registry=registry).service("email")
    assert "live_abcdef" not in str(info.value)


def test_test_key_and_fake_provider_refused_in_production() -> None:
    registry = _registry_with_keyed_provider()
    settings = HubSettings.load(
        env="production", email={"provider": "keyed", "keyed": {"api_key": "test_x"}}
    )
    with pytest.raises(hub.ConfigurationError, match="test key"):
        hub.Hub(settings, registry=registry).service("email")
    fake = HubSettings.load(env="production", email={"provider": "fake"})
    with pytest.raises(hub.ConfigurationError, match="development/test provider"):
        hub.Hub(fake, registry=registry).service("email")
    allowed = HubSettings.load(
        env="production", email={"provider": "fake"}, allow_test_providers_in_production=True
    )
    assert hub.Hub(allowed, registry=registry).service("email").providers == ["fake"]


def test_secrets_never_appear_in_reprs() -> None:
    registry = _registry_with_keyed_provider()
    settings = HubSettings.load(
        env="test", email={"provider": "keyed", "keyed": {"api_key": "test_hidden_value"}}
    )
    h = hub.Hub(settings, registry=registry)
    spec = registry.provider("email", "keyed")
    model = h.provider_settings(spec, settings.email.provider_section("keyed"))
    assert "test_hidden_value" not in repr(model)
    assert "test_hidden_value" not in str(model.model_dump(mode="json"))


def test_unconfigured_capability_in_production_says_how_to_fix() -> None:
    with pytest.raises(hub.ConfigurationError, match="HUB_EMAIL__PROVIDER"):
        hub.Hub(HubSettings.load(env="production")).service("email")
