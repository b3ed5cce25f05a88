"""What every capability's Service facade shares: the provider chain and the one call path.

A Service validates its input (pydantic), then hands one ``invoke(provider)`` closure to
:meth:`Service._call`, which runs it through the resilience pipeline over the provider chain.
Capabilities never import one another; they all import this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from hub.capabilities._models import new_id
from hub.errors import UnsupportedFeature

if TYPE_CHECKING:
    from hub._runtime import Runtime
    from hub.plugins import ProviderSpec
    from hub.resilience.policy import ResiliencePolicy
    from hub.settings import CapabilitySettings

__all__ = ["BoundProvider", "Service", "new_idempotency_key"]

P = TypeVar("P")
R = TypeVar("R")


def new_idempotency_key() -> str:
    """A fresh key, fixed before the first attempt and reused by every retry."""
    return new_id()


@dataclass(slots=True)
class BoundProvider(Generic[P]):
    """One configured provider: its spec, its live instance and its effective policy."""

    name: str
    spec: ProviderSpec
    provider: P
    policy: ResiliencePolicy


@dataclass(frozen=True, slots=True)
class Operation:
    """What the pipeline needs to know about a call, beyond the call itself."""

    capability: str
    name: str
    #: Repeating the call cannot change the outcome (reads, deletes, puts of the same bytes).
    #: A call with a key is safe to repeat only where the vendor honours keys (the pipeline
    #: checks the provider's ``idempotency`` feature).
    idempotent: bool
    idempotency_key: str | None = None
    #: The hub must remember the key's result itself (the vendor has no idempotency).
    remember_key: bool = False
    #: After a timeout or a dropped answer the call must not go to another provider.
    money_moves: bool = False
    #: A body streamed for as long as it takes: no attempt timeout or total deadline.
    streaming: bool = False
    #: The model a remembered result is stored as (idempotency for vendors without it).
    result_type: type[BaseModel] | None = None


class Service(Generic[P]):
    """Base of the capability facades (``hub.email``, ``hub.sms``, ...)."""

    capability: ClassVar[str]

    def __init__(
        self,
        providers: Sequence[BoundProvider[P]],
        settings: CapabilitySettings,
        runtime: Runtime,
    ) -> None:
        self._providers = list(providers)
        self._settings = settings
        self._runtime = runtime

    @property
    def providers(self) -> list[str]:
        """Names of the configured providers, in failover order."""
        return [bound.name for bound in self._providers]

    @property
    def provider(self) -> P:
        """The first (primary) provider instance, e.g. a fake to inspect in tests."""
        return self._providers[0].provider

    def get_provider(self, name: str) -> P:
        for bound in self._providers:
            if bound.name == name:
                return bound.provider
        raise KeyError(f"{name!r} is not in this {self.capability} chain: {self.providers}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} providers={self.providers}>"

    async def _call(
        self,
        operation: str,
        invoke: Callable[[P], Awaitable[R]],
        *,
        idempotent: bool = False,
        idempotency_key: str | None = None,
        remember_key: bool = False,
        money_moves: bool = False,
        streaming: bool = False,
        result_type: type[BaseModel] | None = None,
        features: Iterable[str] = (),
    ) -> R:
        """Run ``invoke`` on the chain through the pipeline; see docs/resilience.md."""
        needed = frozenset(features)
        op = Operation(
            capability=self.capability,
            name=operation,
            idempotent=idempotent,
            idempotency_key=idempotency_key,
            remember_key=remember_key,
            money_moves=money_moves,
            streaming=streaming,
            result_type=result_type,
        )
        candidates = [b for b in self._providers if needed <= b.spec.features]
        if not candidates:
            bound = self._providers[0]
            missing = sorted(needed - bound.spec.features)
            raise UnsupportedFeature(
                f"{self.capability} provider {bound.name!r} does not support {', '.join(missing)}; "
                f"configure a provider that does (see `hub plugins`) or drop the field",
                feature=missing[0],
                provider=bound.name,
            )
        return await self._runtime.executor.run(op, candidates, invoke)

    def _provider_features(self) -> dict[str, frozenset[str]]:
        return {bound.name: bound.spec.features for bound in self._providers}

    async def aclose(self) -> None:
        for bound in self._providers:
            close: Any = getattr(bound.provider, "aclose", None)
            if close is not None:
                await close()
