"""What every conformance suite shares: the hub under test, feature checks, vendor errors.

A suite is a class of async tests. A provider's test module subclasses it and names the
provider; everything else has a default that a subclass may override::

    class TestAcmeEmail(EmailConformance):
        provider = "acme"

        def provider_settings(self) -> dict[str, Any]:
            return {"api_key": "replay-only-key"}
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pytest

from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    RateLimited,
    Unavailable,
)
from hub.testing.pytest_plugin import active_cassette, managed_hub

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["VENDOR_ERRORS", "ConformanceSuite", "VendorErrorKind"]

VendorErrorKind = Literal["authentication", "rate_limited", "unavailable", "invalid"]

#: Each kind of vendor failure: the HTTP status a vendor answers, the hub error it must map to
#: and whether the pipeline may ask the same provider again.
VENDOR_ERRORS: dict[VendorErrorKind, tuple[int, type[HubError], bool]] = {
    "authentication": (401, AuthenticationError, False),
    "rate_limited": (429, RateLimited, True),
    "unavailable": (503, Unavailable, True),
    "invalid": (400, InvalidRequest, False),
}
# Enough scripted failures for any retry policy (RetryPolicy allows at most 20 attempts).
_FAILURES = 20
VendorCall = Callable[[], Awaitable[object]]


def _fake_error(kind: VendorErrorKind, provider: str) -> HubError:
    status, error_type, _ = VENDOR_ERRORS[kind]
    message = f"injected by the conformance suite: HTTP {status} ({kind})"
    if error_type is InvalidRequest:
        return InvalidRequest(message, provider=provider, vendor_code="invalid_request")
    if error_type is RateLimited:
        return RateLimited(message, provider=provider, status=status, retry_after=0.0)
    if error_type is AuthenticationError:
        return AuthenticationError(message, provider=provider, status=status)
    return Unavailable(message, provider=provider, status=status)


class ConformanceSuite:
    """Base of the per-capability suites; see the module docstring for how to use one."""

    #: The capability under test (set by each suite).
    capability: ClassVar[str]
    #: The provider under test, as registered (``ProviderSpec.name``); set by the subclass.
    provider: ClassVar[str]
    #: ``HUB_ENV`` of the hub under test.
    env: ClassVar[str] = "test"

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.anyio]

    @pytest.fixture
    def anyio_backend(self) -> str:
        """The suite runs on asyncio; override to return "trio" (or parametrize) as well."""
        return "asyncio"

    # -- the hub under test ---------------------------------------------------------------

    def provider_settings(self) -> dict[str, Any]:
        """The provider's own section (``[email.acme]``): keys, base URL, options."""
        return {}

    def capability_settings(self) -> dict[str, Any]:
        """The capability's section. One attempt and no breaker, so an injected vendor
        error surfaces as itself; keep that when overriding."""
        return {
            "provider": self.provider,
            "providers": [self.provider],
            self.provider: self.provider_settings(),
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        }

    def make_hub(self, tmp_path: Path) -> Hub:
        """The hub the suite tests; override to configure it some other way."""
        from hub.core import Hub

        settings: dict[str, Any] = {
            "env": self.env,
            "data_dir": tmp_path,
            "state": {"url": "memory://"},
            self.capability: self.capability_settings(),
        }
        return Hub.from_settings(**settings)

    @pytest.fixture
    async def provider_hub(
        self, request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: object
    ) -> AsyncIterator[Hub]:
        """A fresh hub per test, its secrets shared with any active cassette, closed after."""
        if not getattr(self, "provider", None):
            pytest.fail(f"{type(self).__name__} must set `provider = '<provider name>'`")
        async with managed_hub(self.make_hub(tmp_path), active_cassette(request)) as hub:
            yield hub

    # -- features -------------------------------------------------------------------------

    def features(self, hub: Hub) -> frozenset[str]:
        """The optional features the provider declares in its ProviderSpec."""
        return hub.registry.provider(self.capability, self.provider).features

    def require(self, hub: Hub, *features: str) -> None:
        """Skip the calling check unless the provider declares every one of ``features``."""
        missing = sorted(set(features) - self.features(hub))
        if missing:
            pytest.skip(
                f"{self.capability} provider {self.provider!r} does not declare "
                f"{', '.join(missing)} in its ProviderSpec.features"
            )

    def provider_instance(self, hub: Hub) -> Any:
        """The live provider object under test."""
        return hub.service(self.capability).get_provider(self.provider)

    # -- vendor errors --------------------------------------------------------------------

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        """Inside the block, the provider's calls fail as the vendor fails for ``kind``.

        The default works for providers with ``fail_next`` (the fakes) and for providers on
        :class:`hub.http.HttpProvider`, whose requests get the vendor's status code
        (401, 429, 503, 400) through :class:`hub.testing.chaos.ChaosTransport`. Override it
        for anything else, e.g. by activating a cassette recorded against a bad key.
        """
        provider = self.provider_instance(hub)
        fail_next = getattr(provider, "fail_next", None)
        if callable(fail_next):
            fail_next(_FAILURES, lambda name: _fake_error(kind, name))
            try:
                yield
            finally:
                faults = getattr(provider, "faults", None)
                if faults is not None:
                    faults.clear()
            return
        from hub.http import HttpProvider

        if isinstance(provider, HttpProvider):
            from hub.testing.chaos import ChaosTransport, Fault

            status = VENDOR_ERRORS[kind][0]
            chaos = ChaosTransport(script=[Fault.http_status(status)] * _FAILURES)
            with chaos.active():
                yield
            return
        pytest.skip(
            f"{type(self).__name__} cannot make {self.capability} provider {self.provider!r} "
            f"fail as its vendor would ({kind}): it has no fail_next() and is not an "
            "HttpProvider. Override inject_vendor_error(hub, kind) to test the error mapping"
        )

    async def prepare_vendor_call(self, hub: Hub) -> VendorCall:
        """Set up what the call needs and return the call the vendor error check makes."""
        raise NotImplementedError

    async def after_vendor_call(self, hub: Hub) -> None:
        """Remove what :meth:`prepare_vendor_call` created (nothing by default)."""

    @pytest.mark.parametrize("kind", list(VENDOR_ERRORS))
    async def test_vendor_errors_map_to_the_error_tree(
        self, provider_hub: Hub, kind: VendorErrorKind
    ) -> None:
        call = await self.prepare_vendor_call(provider_hub)
        _, expected, retryable = VENDOR_ERRORS[kind]
        with self.inject_vendor_error(provider_hub, kind), pytest.raises(HubError) as caught:
            await call()
        error = caught.value
        assert isinstance(error, expected), (
            f"a vendor {kind} failure surfaced as {type(error).__name__}: {error}; "
            f"map it to {expected.__name__}"
        )
        assert getattr(error, "provider", None) == self.provider, (
            f"{type(error).__name__}.provider is {getattr(error, 'provider', None)!r}, "
            f"expected {self.provider!r}"
        )
        assert error.retryable is retryable, (
            f"{type(error).__name__} for {kind} has retryable={error.retryable}; "
            f"expected {retryable}"
        )
        await call()  # the provider recovers once the vendor does
        await self.after_vendor_call(provider_hub)
