"""The hub's search conformance suite on the Algolia plugin, against the stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport
from hub.testing.conformance import SearchConformance, VendorErrorKind
from tests.plugins.algolia.standin import API_KEY, APP_ID, AlgoliaStandIn

#: Each kind of failure as Algolia answers it: ``{"message", "status"}``.
ERRORS: dict[VendorErrorKind, tuple[int, str]] = {
    "authentication": (403, "Invalid Application-ID or API key"),
    "rate_limited": (429, "Too many requests"),
    "unavailable": (503, "Service Unavailable"),
    "invalid": (400, "Invalid syntax for filter: 'year >'"),
}


class TestAlgoliaConformance(SearchConformance):
    provider = "algolia"

    @pytest.fixture(autouse=True)
    async def algolia(self, anyio_backend: object) -> AsyncIterator[AlgoliaStandIn]:
        self.standin = AlgoliaStandIn()
        with override_transport(httpx.MockTransport(self.standin.handle)):
            yield self.standin

    def provider_settings(self) -> dict[str, Any]:
        return {"app_id": APP_ID, "api_key": API_KEY}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        status, text = ERRORS[kind]
        self.standin.fail_next(status, {"message": text, "status": status}, times=20)
        try:
            yield
        finally:
            self.standin.clear()
