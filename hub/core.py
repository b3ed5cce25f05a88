"""The Hub: builds each capability's service from settings and the plugin registry.

Services are built on first use, so a process that only sends email never validates, imports
or connects the storage vendor. ``async with Hub.from_settings(...)`` (or ``await
hub.aclose()``) closes every provider and pooled HTTP client it opened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from hub._runtime import ProviderContext, Runtime
from hub.capabilities._service import BoundProvider, Service
from hub.errors import ConfigurationError, HubError
from hub.observability import Observability
from hub.plugins import ProviderSpec, Registry, default_registry, import_string
from hub.resilience.clock import SYSTEM_CLOCK
from hub.resilience.pipeline import Executor
from hub.resilience.policy import merge_policy
from hub.settings import (
    Environment,
    HubSettings,
    ProviderSettings,
    conventional_env,
    format_validation_error,
    secret_values,
)
from hub.state import StateStore, open_state_store
from hub.webhooks.dispatcher import Dispatcher

if TYPE_CHECKING:
    from types import TracebackType

    from opentelemetry.trace import TracerProvider
    from prometheus_client import CollectorRegistry

    from hub.capabilities.email import EmailService
    from hub.capabilities.payments import PaymentsService
    from hub.capabilities.search import SearchService
    from hub.capabilities.sms import SmsService
    from hub.capabilities.storage import StorageService
    from hub.resilience.circuit_breaker import CircuitBreaker
    from hub.resilience.clock import Clock
    from hub.resilience.pipeline import ProviderPipeline
    from hub.webhooks.events import HubEvent

__all__ = ["Hub"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
_TEST_PROVIDERS = frozenset({"fake", "local"})


class Hub:
    """One configured hub. Most apps use the module-level default (``hub.email``...)."""

    def __init__(
        self,
        settings: HubSettings | None = None,
        *,
        registry: Registry | None = None,
        state: StateStore | None = None,
        clock: Clock | None = None,
        metrics_registry: CollectorRegistry | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        """``clock``, ``metrics_registry`` and ``tracer_provider`` replace the global ones."""
        self.settings = settings if settings is not None else HubSettings.load()
        self.registry = registry if registry is not None else default_registry()
        dispatcher = Dispatcher()
        clock = clock if clock is not None else SYSTEM_CLOCK
        if state is None:
            state = open_state_store(self.settings.state, clock=clock)
        self._runtime = Runtime(
            settings=self.settings,
            state=state,
            executor=cast(Executor, None),
            dispatcher=dispatcher,
            clock=clock,
            observability=Observability(registry=metrics_registry, tracer_provider=tracer_provider),
        )
        self._runtime.executor = Executor(self._runtime)
        dispatcher.bind(self._runtime)
        self._services: dict[str, Service[Any]] = {}
        self._closed = False

    @classmethod
    def from_settings(
        cls,
        settings: HubSettings | None = None,
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        metrics_registry: CollectorRegistry | None = None,
        tracer_provider: TracerProvider | None = None,
        **overrides: Any,
    ) -> Hub:
        """A hub from ``settings``, or from env/.env/hub.toml with keyword overrides on top.

        ``registry``, ``clock``, ``metrics_registry`` and ``tracer_provider`` are injected as in
        :class:`Hub` (tests pass a FakeClock or a private registry this way); ``state=`` stays a
        settings override (the state store's URL), as before.
        """
        if settings is not None and overrides:
            settings = HubSettings.load(**{**settings.model_dump(), **overrides})
        return cls(
            settings if settings is not None else HubSettings.load(**overrides),
            registry=registry,
            clock=clock,
            metrics_registry=metrics_registry,
            tracer_provider=tracer_provider,
        )

    # -- capabilities ---------------------------------------------------------------------

    @property
    def email(self) -> EmailService:
        return cast("EmailService", self.service("email"))

    @property
    def sms(self) -> SmsService:
        return cast("SmsService", self.service("sms"))

    @property
    def payments(self) -> PaymentsService:
        return cast("PaymentsService", self.service("payments"))

    @property
    def storage(self) -> StorageService:
        return cast("StorageService", self.service("storage"))

    @property
    def search(self) -> SearchService:
        return cast("SearchService", self.service("search"))

    def service(self, capability: str) -> Service[Any]:
        """The facade of any capability, including ones that plugins add."""
        if self._closed:
            raise HubError("this hub is closed; create a new one with Hub.from_settings()")
        service = self._services.get(capability)
        if service is None:
            service = self._services[capability] = self._build(capability)
        return service

    def __getattr__(self, name: str) -> Service[Any]:
        # Capabilities that plugins add (hub.fax, hub.push ...) resolve like built-in ones.
        if (
            name.startswith("_")
            or name not in self.__dict__.get("registry", Registry()).capabilities
        ):
            raise AttributeError(name)
        return self.service(name)

    @property
    def state(self) -> StateStore:
        return self._runtime.state

    # -- resilience -----------------------------------------------------------------------

    def pipelines(self, capability: str) -> list[ProviderPipeline]:
        """The resilience stages of each provider of ``capability``, in failover order.

        Printed, a pipeline lists its stages outermost first (see docs/resilience.md).
        """
        service = self.service(capability)
        executor = self._runtime.executor
        return [executor.pipeline(capability, bound) for bound in service._providers]

    def breaker(self, capability: str, provider: str) -> CircuitBreaker:
        """The circuit breaker of ``provider`` in ``capability``'s chain, the one calls go
        through: ``await hub.breaker("email", "sendgrid").force_open()`` to fail over now."""
        service = self.service(capability)
        bound = next((b for b in service._providers if b.name == provider), None)
        if bound is None:
            raise ConfigurationError(
                f"{provider!r} is not in the {capability} chain {service.providers}; name one "
                "of those"
            )
        breaker = self._runtime.executor.pipeline(capability, bound).breaker
        if breaker is None:
            raise ConfigurationError(
                f"{capability} provider {provider!r} has no circuit breaker: its policy sets "
                "circuit_breaker.enabled = false"
            )
        return breaker

    # -- events ---------------------------------------------------------------------------

    def on(self, event_type: str) -> Callable[[F], F]:
        """Register an async handler: ``@hub.on("email.bounced")``, wildcards ``email.*``/``*``."""
        return self._runtime.dispatcher.on(event_type)

    async def dispatch(self, event: HubEvent) -> bool:
        """Run the handlers for ``event`` once; False if it was a duplicate."""
        return await self._runtime.dispatcher.dispatch(event)

    # -- building -------------------------------------------------------------------------

    def _build(self, capability: str) -> Service[Any]:
        spec = self.registry.capability(capability)
        section = self.settings.capability(capability)
        chain = section.chain(self.settings.env)
        if not chain:
            installed = ", ".join(self.registry.provider_names(capability))
            raise ConfigurationError(
                f"no {capability} provider is configured for HUB_ENV={self.settings.env.value}; "
                f"set HUB_{capability.upper()}__PROVIDER to one of: {installed}"
            )
        bound = [self._bind(capability, name, section) for name in chain]
        service_cls = import_string(spec.service)
        return cast(Service[Any], service_cls(bound, section, self._runtime))

    def _bind(self, capability: str, name: str, section: Any) -> BoundProvider[Any]:
        spec = self.registry.provider(capability, name)
        settings = self.provider_settings(spec, section.provider_section(name))
        self._guard_environment(spec, settings)
        self._runtime.secrets.update(secret_values(settings))
        policy = merge_policy(section.resilience, getattr(settings, "resilience", None))
        factory = import_string(spec.factory)
        context = ProviderContext(capability=capability, name=name, runtime=self._runtime)
        try:
            provider = factory(settings, context)
        except HubError:
            raise
        except Exception as exc:
            raise ConfigurationError(
                f"{capability} provider {name!r} could not start: {type(exc).__name__}: {exc}"
            ) from exc
        return BoundProvider(name=name, spec=spec, provider=provider, policy=policy)

    def provider_settings(self, spec: ProviderSpec, section: dict[str, Any]) -> BaseModel:
        """Validate a provider's section over its conventional env vars (lower priority)."""
        model: type[BaseModel] = (
            import_string(spec.settings_model) if spec.settings_model else ProviderSettings
        )
        data = {**conventional_env(spec.env_vars), **section}
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            prefix = f"HUB_{spec.capability.upper()}__{spec.name.upper()}__"
            hint = ""
            if spec.env_vars:
                hint = "\n  (also read from: " + ", ".join(sorted(spec.env_vars.values())) + ")"
            raise ConfigurationError(
                f"{spec.capability} provider {spec.name!r}: "
                + format_validation_error(exc, prefix=prefix)
                + hint
            ) from None

    def _guard_environment(self, spec: ProviderSpec, settings: BaseModel) -> None:
        env = self.settings.env
        mode = settings.key_mode() if isinstance(settings, ProviderSettings) else None
        where = f"{spec.capability} provider {spec.name!r}"
        if env is not Environment.PRODUCTION and mode == "live":
            raise ConfigurationError(
                f"{where} has a live key but HUB_ENV={env.value}; use a test key outside "
                "production (or set HUB_ENV=production)"
            )
        allowed = self.settings.allow_test_providers_in_production
        testing = mode == "test" or spec.name in _TEST_PROVIDERS
        if env is Environment.PRODUCTION and testing and not allowed:
            what = "a test key" if mode == "test" else "a development/test provider"
            raise ConfigurationError(
                f"{where} uses {what} with HUB_ENV=production; configure the real vendor "
                "or set HUB_ALLOW_TEST_PROVIDERS_IN_PRODUCTION=true"
            )

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Hub:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every provider, HTTP client and the state store this hub opened."""
        if self._closed:
            return
        self._closed = True
        for service in self._services.values():
            await service.aclose()
        for close in reversed(self._runtime.closers):
            result = close()
            if hasattr(result, "__await__"):
                await result
        await self._runtime.state.aclose()

    def __repr__(self) -> str:
        built = ", ".join(f"{k}={v.providers}" for k, v in self._services.items())
        return f"<Hub env={self.settings.env.value} {built}>"
