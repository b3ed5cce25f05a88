"""The built-in ``local`` and ``fake`` providers pass every conformance suite."""

from __future__ import annotations

from typing import Any

import pytest

from hub.testing.conformance import (
    EmailConformance,
    PaymentsConformance,
    SearchConformance,
    SmsConformance,
    StorageConformance,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class TestFakeEmail(EmailConformance):
    provider = "fake"


class TestLocalEmail(EmailConformance):
    provider = "local"

    def provider_settings(self) -> dict[str, Any]:
        return {"announce": False}


class TestFakeSms(SmsConformance):
    provider = "fake"


class TestLocalSms(SmsConformance):
    provider = "local"

    def provider_settings(self) -> dict[str, Any]:
        return {"announce": False}


class TestFakeStorage(StorageConformance):
    provider = "fake"


class TestLocalStorage(StorageConformance):
    provider = "local"


class TestFakeSearch(SearchConformance):
    provider = "fake"


class TestLocalSearch(SearchConformance):
    provider = "local"


class TestFakePayments(PaymentsConformance):
    provider = "fake"


class TestLocalPayments(PaymentsConformance):
    provider = "local"
