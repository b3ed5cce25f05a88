"""SendGrid passes the email conformance suite, its failures being SendGrid's documented ones."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from hub.core import Hub
from hub.testing.conformance import EmailConformance, VendorErrorKind
from tests.plugins.sendgrid.conftest import (
    API_KEY,
    BAD_REQUEST,
    SERVER_ERROR,
    TOO_MANY,
    UNAUTHORIZED,
    FakeSendGrid,
    error,
)


class TestSendGridEmail(EmailConformance):
    provider = "sendgrid"
    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [
        *EmailConformance.pytestmark,
        pytest.mark.usefixtures("isolated_env"),
    ]

    @pytest.fixture(autouse=True)
    def _sendgrid(self, vendor: FakeSendGrid) -> None:
        self.vendor = vendor

    def provider_settings(self) -> dict[str, Any]:
        return {"api_key": API_KEY}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        answers = {
            "authentication": error(401, UNAUTHORIZED),
            "rate_limited": error(429, TOO_MANY, **{"X-RateLimit-Reset": str(int(time.time()))}),
            "unavailable": error(503, SERVER_ERROR),
            "invalid": error(400, BAD_REQUEST),
        }
        self.vendor.fail(answers[kind], times=20)
        try:
            yield
        finally:
            self.vendor.clear()
