"""The hub's search conformance suite on the PostgreSQL plugin, against the real server.

Vendor errors are the ones PostgreSQL gives (a refused password, "too many clients", a server
starting up, a value it cannot read), raised where the pool is opened and mapped by the
plugin's one boundary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from hub_postgres.errors import to_hub_error

from hub.core import Hub
from hub.testing.conformance import SearchConformance, VendorErrorKind

pytestmark = pytest.mark.postgres

#: The asyncpg error PostgreSQL raises for each kind of failure.
ERRORS: dict[VendorErrorKind, BaseException] = {
    "authentication": asyncpg.exceptions.InvalidPasswordError(
        'password authentication failed for user "app"'
    ),
    "rate_limited": asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    "unavailable": asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    "invalid": asyncpg.exceptions.InvalidTextRepresentationError(
        'invalid input syntax for type numeric: "abc"'
    ),
}


class TestPostgresConformance(SearchConformance):
    provider = "postgres"

    @pytest.fixture(autouse=True)
    def schema(self, pg_schema: str, database_url: str) -> None:
        self.schema_name = pg_schema
        self.database_url = database_url

    def provider_settings(self) -> dict[str, Any]:
        return {"dsn": self.database_url, "schema": self.schema_name}

    @contextlib.contextmanager
    def inject_vendor_error(self, hub: Hub, kind: VendorErrorKind) -> Iterator[None]:
        """The next queries fail as PostgreSQL fails, mapped by the plugin's one boundary."""
        provider = self.provider_instance(hub)
        original = provider._connection_pool

        async def failing() -> Any:
            raise to_hub_error(ERRORS[kind], provider=self.provider, secrets=())

        provider._connection_pool = failing
        try:
            yield
        finally:
            provider._connection_pool = original
