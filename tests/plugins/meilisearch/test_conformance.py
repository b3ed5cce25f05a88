"""The hub's search conformance suite on the Meilisearch plugin, against the stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport
from hub.testing.conformance import SearchConformance, VendorErrorKind
from tests.plugins.meilisearch.standin import API_KEY, BASE_URL, MeilisearchStandIn

#: Each kind of failure as Meilisearch documents it: status and error body.
ERRORS: dict[VendorErrorKind, tuple[int, dict[str, str]]] = {
    "authentication": (
        403,
        {"message": "The provided API key is invalid.", "code": "invalid_api_key", "type": "auth"},
    ),
    "rate_limited": (
        429,
        {"message": "Too many requests.", "code": "too_many_requests", "type": "system"},
    ),
    "unavailable": (
        503,
        {"message": "Service unavailable.", "code": "internal", "type": "internal"},
    ),
    "invalid": (
        400,
        {
            "message": "Invalid value type at `.q`.",
            "code": "invalid_search_q",
            "type": "invalid_request",
        },
    ),
}


class TestMeilisearchConformance(SearchConformance):
    provider = "meilisearch"

    @pytest.fixture(autouse=True)
    async def meilisearch(self, anyio_backend: object) -> AsyncIterator[MeilisearchStandIn]:
        self.standin = MeilisearchStandIn()
        with override_transport(httpx.MockTransport(self.standin.handle)):
            yield self.standin

    def provider_settings(self) -> dict[str, Any]:
        return {"url": BASE_URL, "api_key": API_KEY}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        status, body = ERRORS[kind]
        self.standin.fail_next(
            status, {**body, "link": "https://docs.meilisearch.com/errors"}, times=20
        )
        try:
            yield
        finally:
            self.standin.clear()
