"""The hub's storage conformance suite, run against GCS on the documented-API stand-in.

Vendor failures are Google's documented error bodies, answered by the stand-in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.testing.conformance import StorageConformance, VendorErrorKind
from tests.plugins.gcs._fake import FakeGcs, google_error
from tests.plugins.gcs.conftest import gcs_section

GCS_ERRORS: dict[VendorErrorKind, httpx.Response] = {
    "authentication": google_error(401, "authError", "Invalid Credentials"),
    "rate_limited": google_error(
        429, "rateLimitExceeded", "The rate of change requests to the object is too high."
    ),
    "unavailable": google_error(503, "backendError", "Backend Error"),
    "invalid": google_error(400, "invalid", "Invalid argument."),
}


class TestGcsConformance(StorageConformance):
    provider = "gcs"

    @pytest.fixture(autouse=True)
    def _vendor(self, vendor: FakeGcs, credentials: str) -> None:
        self.vendor = vendor
        self.credentials = credentials

    def provider_settings(self) -> dict[str, Any]:
        return gcs_section(self.credentials)

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        self.vendor.fail(GCS_ERRORS[kind], times=20)
        try:
            yield
        finally:
            self.vendor.clear()
