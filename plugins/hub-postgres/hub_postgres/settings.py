"""Settings of the PostgreSQL search provider: ``[search.postgres]`` / ``HUB_SEARCH__POSTGRES__*``.

The connection string is also read from the conventional ``DATABASE_URL``.
"""

from __future__ import annotations

import re
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator

from hub.settings import ProviderSettings

__all__ = ["PostgresSearchSettings"]

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresSearchSettings(ProviderSettings):
    """Where the indexes live and how text is analysed."""

    dsn: SecretStr = Field(
        SecretStr("postgresql://postgres@127.0.0.1:5432/postgres"),
        description="connection string, e.g. postgresql://user:password@host:5432/db",
    )
    schema_name: str = Field(
        "hub_search",
        alias="schema",
        description="the PostgreSQL schema holding one table per index (created if missing)",
    )
    text_search_config: str = Field(
        "english",
        description="text search configuration: 'english' stems words and drops stop words; "
        "'simple' matches words exactly, like the local SQLite provider",
    )
    pool_min_size: int = Field(1, ge=0, description="connections kept open")
    pool_max_size: int = Field(10, ge=1, description="connections at most")
    connect_timeout: float = Field(10.0, gt=0, description="seconds to open a connection")
    command_timeout: float = Field(30.0, gt=0, description="seconds a statement may take")

    model_config = {**ProviderSettings.model_config, "populate_by_name": True}

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL, e.g. postgresql://postgres@127.0.0.1/db")
        return value

    @field_validator("schema_name", "text_search_config")
    @classmethod
    def _identifier(cls, value: str) -> str:
        value = value.strip().lower()
        if not _IDENTIFIER.match(value):
            raise ValueError(
                f"{value!r} must be a lower-case SQL identifier such as 'hub_search' or 'english'"
            )
        return value

    @model_validator(mode="after")
    def _pool(self) -> Self:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size may not exceed pool_max_size")
        return self
