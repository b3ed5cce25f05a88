"""The hub's SMS conformance suite, run against Amazon SNS on moto's server."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from hub import Hub
from hub.testing.conformance import SmsConformance, VendorErrorKind
from tests.plugins.sns._support import Recorder, aws_error, hook, sns_section

#: How SNS answers each kind of failure (status, Error.Code, message), as documented.
SNS_ERRORS: dict[VendorErrorKind, tuple[int, str, str]] = {
    "authentication": (
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    ),
    "rate_limited": (429, "Throttled", "Rate exceeded"),
    "unavailable": (500, "InternalError", "Internal Error"),
    "invalid": (400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: not valid"),
}


class TestSnsConformance(SmsConformance):
    provider = "sns"

    @pytest.fixture(autouse=True)
    def _moto(self, moto_url: str) -> None:
        self.moto_url = moto_url

    def provider_settings(self) -> dict[str, Any]:
        return sns_section(self.moto_url)

    async def prepare_vendor_call(self, hub: Hub) -> Callable[[], Awaitable[object]]:
        self.client = await self.provider_instance(hub).client()
        return await super().prepare_vendor_call(hub)

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        status, code, message = SNS_ERRORS[kind]
        answer = Recorder(lambda form: aws_error(status, code, message, sender=status < 500))
        undo = hook(self.client, "Publish", answer)
        try:
            yield
        finally:
            undo()
