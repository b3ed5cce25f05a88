"""The hub's search conformance suite on the Typesense plugin, against the stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport
from hub.testing.conformance import SearchConformance, VendorErrorKind
from tests.plugins.typesense.standin import API_KEY, BASE_URL, TypesenseStandIn

#: Each kind of failure as Typesense answers it: status and ``{"message": ...}``.
ERRORS: dict[VendorErrorKind, tuple[int, str]] = {
    "authentication": (401, "Forbidden - a valid `x-typesense-api-key` header must be sent."),
    "rate_limited": (429, "Rate limit exceeded or blocked"),
    "unavailable": (503, "Not Ready or Lagging"),
    "invalid": (400, "Parameter `q` is required."),
}


class TestTypesenseConformance(SearchConformance):
    provider = "typesense"

    @pytest.fixture(autouse=True)
    async def typesense(self, anyio_backend: object) -> AsyncIterator[TypesenseStandIn]:
        self.standin = TypesenseStandIn()
        with override_transport(httpx.MockTransport(self.standin.handle)):
            yield self.standin

    def provider_settings(self) -> dict[str, Any]:
        return {"url": BASE_URL, "api_key": API_KEY}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        status, text = ERRORS[kind]
        self.standin.fail_next(status, {"message": text}, times=20)
        try:
            yield
        finally:
            self.standin.clear()
