"""The SMTP plugin passes the email conformance suite against a real aiosmtpd server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hub.testing.conformance import EmailConformance, VendorErrorKind
from hub.testing.pytest_plugin import managed_hub
from tests.plugins.smtp.conftest import Server

if TYPE_CHECKING:
    from hub.core import Hub

#: What a real server answers for each kind of failure the suite injects.
REPLIES: dict[VendorErrorKind, tuple[str, str]] = {
    "authentication": ("mail", "530 5.7.0 Authentication required"),
    "rate_limited": ("mail", "451 4.7.1 Rate limit exceeded, slow down"),
    "unavailable": ("mail", "421 4.3.2 Service not available, closing transmission channel"),
    "invalid": ("data", "554 5.6.0 Message content rejected"),
}


class TestSmtpConformance(EmailConformance):
    provider = "smtp"
    server: Server

    @pytest.fixture
    async def provider_hub(
        self, tmp_path: Path, anyio_backend: object, smtp_server: Callable[..., Server]
    ) -> AsyncIterator[Hub]:
        self.server = smtp_server()
        async with managed_hub(self.make_hub(tmp_path)) as hub:
            yield hub

    def provider_settings(self) -> dict[str, Any]:
        return self.server.settings()

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        stage, reply = REPLIES[kind]
        handler = self.server.handler
        if stage == "mail":
            handler.mail_reply = reply
        else:
            handler.data_reply = reply
        try:
            yield
        finally:
            handler.mail_reply = handler.data_reply = None
