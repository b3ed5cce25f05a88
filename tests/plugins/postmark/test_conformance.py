"""Postmark passes the email conformance suite, its failures being Postmark's documented ones."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from hub.core import Hub
from hub.testing.conformance import EmailConformance, VendorErrorKind
from tests.plugins.postmark.conftest import (
    BAD_TOKEN,
    INVALID_REQUEST,
    TOKEN,
    UNAVAILABLE,
    FakePostmark,
    answer,
)


class TestPostmarkEmail(EmailConformance):
    provider = "postmark"
    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [
        *EmailConformance.pytestmark,
        pytest.mark.usefixtures("isolated_env"),
    ]

    @pytest.fixture(autouse=True)
    def _postmark(self, vendor: FakePostmark) -> None:
        self.vendor = vendor

    def provider_settings(self) -> dict[str, Any]:
        return {"server_token": TOKEN}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        answers = {
            "authentication": BAD_TOKEN,
            "rate_limited": answer(429, "Rate limit exceeded", status=429, **{"Retry-After": "0"}),
            "unavailable": UNAVAILABLE,
            "invalid": INVALID_REQUEST,
        }
        self.vendor.fail(answers[kind], times=20)
        try:
            yield
        finally:
            self.vendor.clear()
