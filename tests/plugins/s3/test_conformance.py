"""The hub's storage conformance suite, run against S3 on moto's server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from hub import Hub
from hub.testing.conformance import StorageConformance, VendorErrorKind
from hub.testing.conformance._base import VendorCall
from tests.plugins.s3.conftest import Hook, hook, s3_error, s3_section

#: How S3 answers each kind of failure (status, Error.Code, Error.Message), as documented in
#: the S3 API reference's "Error responses" list.
S3_ERRORS: dict[VendorErrorKind, tuple[int, str, str]] = {
    "authentication": (
        403,
        "InvalidAccessKeyId",
        "The AWS access key ID that you provided does not exist in our records.",
    ),
    "rate_limited": (503, "SlowDown", "Please reduce your request rate."),
    "unavailable": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "invalid": (400, "InvalidArgument", "Invalid Argument"),
}


class TestS3Conformance(StorageConformance):
    provider = "s3"

    @pytest.fixture(autouse=True)
    def _moto(self, moto_url: str) -> None:
        self.moto_url = moto_url

    def provider_settings(self) -> dict[str, Any]:
        return s3_section(self.moto_url)

    async def prepare_vendor_call(self, hub: Hub) -> VendorCall:
        """A GetObject rather than the suite's HEAD: a HEAD answer has no body, so S3's error
        code (SlowDown...) is only seen on a GET."""
        key = self.key("vendor-error.txt")
        await hub.storage.put(key, b"present")
        self.client = await self.provider_instance(hub).client()
        return lambda: hub.storage.get(key)

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        status, code, message = S3_ERRORS[kind]
        undo = hook(self.client, "GetObject", Hook(lambda _: s3_error(status, code, message)))
        try:
            yield
        finally:
            undo()
