"""Fixtures of the PostgreSQL plugin's tests: a schema of their own on the real server.

``database_url`` (tests/conftest.py) skips with a reason when the server does not answer.
Every test gets a fresh schema named after this session, dropped afterwards, so nothing is
left behind and tests never see each other's indexes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anyio
import asyncpg  # type: ignore[import-untyped]
import pytest

SESSION = uuid.uuid4().hex[:8]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _drop(database_url: str, name: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture
def pg_schema(database_url: str) -> Iterator[str]:
    """A schema name unique to this test; the schema is dropped afterwards."""
    name = f"hubtest_{SESSION}_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        anyio.run(_drop, database_url, name)
