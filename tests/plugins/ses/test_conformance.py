"""The hub's email conformance suite, run against SES v2 on moto's server."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from hub import Hub
from hub.testing.conformance import EmailConformance, VendorErrorKind
from tests.plugins.ses._support import Recorder, aws_response, hook, ses_section

#: How SES v2 answers each kind of failure (status, x-amzn-ErrorType, message), as documented.
SES_ERRORS: dict[VendorErrorKind, tuple[int, str, str]] = {
    "authentication": (
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    "rate_limited": (429, "TooManyRequestsException", "Maximum sending rate exceeded."),
    "unavailable": (503, "ServiceUnavailable", "Service is unavailable. Try again later."),
    "invalid": (400, "BadRequestException", "Missing required parameter Destination."),
}


class TestSesConformance(EmailConformance):
    provider = "ses"

    @pytest.fixture(autouse=True)
    def _moto(self, moto_url: str) -> None:
        self.moto_url = moto_url

    def provider_settings(self) -> dict[str, Any]:
        return ses_section(self.moto_url)

    async def prepare_vendor_call(self, hub: Hub) -> Callable[[], Awaitable[object]]:
        self.client = await self.provider_instance(hub).client()
        return await super().prepare_vendor_call(hub)

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        status, code, message = SES_ERRORS[kind]
        undo = hook(
            self.client,
            "SendEmail",
            Recorder(lambda body: aws_response(status, {"message": message}, error_type=code)),
        )
        try:
            yield
        finally:
            undo()
