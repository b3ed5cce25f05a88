"""The hub's storage conformance suite, run against Azure Blob Storage on Azurite.

Vendor failures come from the suite's default injection (the hub's chaos transport answering
401, 429, 503 and 400 with no body): the status alone must map right. Azure's documented
error bodies are checked in test_errors.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.testing.conformance import StorageConformance
from tests.plugins.azure.conftest import azure_section


class TestAzureConformance(StorageConformance):
    provider = "azure"

    @pytest.fixture(autouse=True)
    def _azurite(self, azurite: str) -> None:
        self.endpoint = azurite

    def provider_settings(self) -> dict[str, Any]:
        return azure_section(self.endpoint)
