"""Mailgun passes the email conformance suite, its failures being Mailgun's documented ones."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hub.core import Hub
from hub.testing.conformance import EmailConformance, VendorErrorKind
from tests.plugins.mailgun.conftest import (
    API_KEY,
    DOMAIN,
    SIGNING_KEY,
    FakeMailgun,
    documented_error,
)


class TestMailgunEmail(EmailConformance):
    provider = "mailgun"
    sender = "Hub Conformance <conformance@mg.example.com>"

    @pytest.fixture(autouse=True)
    def _mailgun(self, vendor: FakeMailgun) -> None:
        self.vendor = vendor

    def provider_settings(self) -> dict[str, Any]:
        return {"api_key": API_KEY, "domain": DOMAIN, "webhook_signing_key": SIGNING_KEY}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        answers = {
            "authentication": documented_error(401, "Forbidden"),
            "rate_limited": documented_error(
                429,
                {"message": "Too many requests"},
                **{"X-RateLimit-Reset": str(int(time.time() * 1000))},
            ),
            "unavailable": documented_error(503, {"message": "Service Unavailable"}),
            "invalid": documented_error(
                400, {"message": "'to' parameter is not a valid address. please check docs"}
            ),
        }
        self.vendor.fail(answers[kind], times=20)
        try:
            yield
        finally:
            self.vendor.clear()
