"""Conformance suites: the contract of each capability, for any provider to run against itself.

::

    from hub.testing.conformance import EmailConformance

    class TestAcmeEmail(EmailConformance):
        provider = "acme"

Each suite is a class of async tests (anyio) on a fresh hub per test; see
:class:`~hub.testing.conformance._base.ConformanceSuite` for what a subclass may override and
docs/writing-a-plugin.md for running one against a cassette.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.testing.conformance._base import VENDOR_ERRORS, ConformanceSuite, VendorErrorKind
    from hub.testing.conformance.email import EmailConformance
    from hub.testing.conformance.payments import PaymentsConformance
    from hub.testing.conformance.search import SearchConformance
    from hub.testing.conformance.sms import SmsConformance
    from hub.testing.conformance.storage import StorageConformance

__all__ = [
    "VENDOR_ERRORS",
    "ConformanceSuite",
    "EmailConformance",
    "PaymentsConformance",
    "SearchConformance",
    "SmsConformance",
    "StorageConformance",
    "VendorErrorKind",
]

# Imported on first use, so a plugin testing email never imports the payments models.
_LAZY = {
    "VENDOR_ERRORS": "_base",
    "ConformanceSuite": "_base",
    "VendorErrorKind": "_base",
    "EmailConformance": "email",
    "PaymentsConformance": "payments",
    "SearchConformance": "search",
    "SmsConformance": "sms",
    "StorageConformance": "storage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.testing.conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
