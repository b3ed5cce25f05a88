"""``hub-postgres``: PostgreSQL full-text search for the hub (hooks only; asyncpg not imported)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_postgres"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "search",
            "postgres",
            f"{_M}.provider:PostgresSearchProvider",
            f"{_M}.settings:PostgresSearchSettings",
            features=frozenset({"filters", "range_filters", "scores"}),
            env_vars={"dsn": "DATABASE_URL"},
            description="PostgreSQL full-text search: weighted tsvector, GIN, ts_rank_cd, JSONB "
            "filters",
            docs_url="https://www.postgresql.org/docs/current/textsearch.html",
        )
    ]
