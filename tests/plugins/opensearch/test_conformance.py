"""The hub's search conformance suite on the OpenSearch plugin (both provider names), against
the stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport
from hub.testing.conformance import SearchConformance, VendorErrorKind
from tests.plugins.opensearch.standin import BASE_URL, PASSWORD, USERNAME, OpenSearchStandIn

#: Each kind of failure as OpenSearch answers it: status, error type and reason.
ERRORS: dict[VendorErrorKind, tuple[int, str, str]] = {
    "authentication": (401, "security_exception", "missing authentication credentials"),
    "rate_limited": (
        429,
        "es_rejected_execution_exception",
        "rejected execution of coordinating operation",
    ),
    "unavailable": (
        503,
        "cluster_block_exception",
        "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered]",
    ),
    "invalid": (400, "parsing_exception", "[multi_match] unknown token [START_ARRAY]"),
}


class TestOpenSearchConformance(SearchConformance):
    provider = "opensearch"

    @pytest.fixture(autouse=True)
    async def opensearch(self, anyio_backend: object) -> AsyncIterator[OpenSearchStandIn]:
        self.standin = OpenSearchStandIn()
        with override_transport(httpx.MockTransport(self.standin.handle)):
            yield self.standin

    def provider_settings(self) -> dict[str, Any]:
        return {"url": BASE_URL, "username": USERNAME, "password": PASSWORD}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        status, kind_name, reason = ERRORS[kind]
        cause = {"type": kind_name, "reason": reason}
        body = {"error": {"root_cause": [cause], **cause}, "status": status}
        self.standin.fail_next(status, body, times=20)
        try:
            yield
        finally:
            self.standin.clear()


class TestElasticsearchConformance(TestOpenSearchConformance):
    provider = "elasticsearch"
