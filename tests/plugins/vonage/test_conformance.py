"""The hub's SMS conformance suite, run against the Vonage provider on the fake SMS API.

Vendor errors are injected the way Vonage reports them: HTTP 200 with a documented non-zero
``status`` (4 credentials, 1 throttled, 5 internal error, 3 invalid parameters).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from hub.core import Hub
from hub.testing.conformance import SmsConformance, VendorErrorKind
from tests.plugins.vonage.fake_vonage import API_KEY, API_SECRET, FakeVonage

_STATUS_FOR: dict[VendorErrorKind, str] = {
    "authentication": "4",
    "rate_limited": "1",
    "unavailable": "5",
    "invalid": "3",
}


class TestVonageSmsConformance(SmsConformance):
    provider = "vonage"

    def provider_settings(self) -> dict[str, Any]:
        return {"api_key": API_KEY, "api_secret": API_SECRET}

    @pytest.fixture(autouse=True)
    def fake_vonage(self, httpx_mock: HTTPXMock) -> FakeVonage:
        self.vonage = FakeVonage()
        httpx_mock.add_callback(
            self.vonage.handle,
            url="https://rest.nexmo.com/sms/json",
            is_optional=True,
            is_reusable=True,
        )
        return self.vonage

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        self.vonage.refuse_next(_STATUS_FOR[kind], times=20)
        try:
            yield
        finally:
            self.vonage.clear()
