"""PostgreSQL full-text search over asyncpg: the hub's search protocol on the SQL of
:mod:`hub_postgres.sql`.

Semantics follow the local SQLite provider: every query word must match (each word is quoted
for ``websearch_to_tsquery``), an empty query matches every document, re-indexing an id
replaces the document and keeps its place among ties, filters behave as
:func:`hub.capabilities._filters.matches`. With the default ``text_search_config = 'english'``
words are stemmed and stop words ignored (``eruptions`` finds ``eruption``); ``'simple'``
matches words exactly. The pool opens on first use and closes with the hub.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import asyncpg  # type: ignore[import-untyped]

from hub.capabilities._filters import Condition, check_filterable
from hub.capabilities._search_vendor import (
    delete_result,
    index_result,
    missing_index,
    prepare_documents,
)
from hub.capabilities.search import (
    DeleteResult,
    Hit,
    IndexResult,
    IndexSchema,
    SearchResults,
    tokenize,
)
from hub_postgres import sql
from hub_postgres.errors import mapped
from hub_postgres.settings import PostgresSearchSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["PostgresSearchProvider"]

# One lock id per (schema, index) for CREATE/ALTER, so two processes do not race on DDL.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext($1))"


async def _init(connection: Any) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


class PostgresSearchProvider:
    """The ``postgres`` search provider."""

    def __init__(self, settings: PostgresSearchSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.settings = settings
        self.schema = settings.schema_name
        self.config = settings.text_search_config
        dsn = settings.dsn.get_secret_value()
        self._secrets = _dsn_secrets(dsn)
        context.runtime.secrets.update(self._secrets)
        self._dsn = dsn
        self._pool: Any = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"<PostgresSearchProvider search.{self.name} schema={self.schema!r}>"

    # -- the pool ---------------------------------------------------------------------------

    async def _connection_pool(self) -> Any:
        async with self._lock:
            if self._pool is None:
                async with mapped(self.name, self._secrets):
                    pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=self.settings.pool_min_size,
                        max_size=self.settings.pool_max_size,
                        timeout=self.settings.connect_timeout,
                        command_timeout=self.settings.command_timeout,
                        init=_init,
                    )
                    try:
                        async with pool.acquire() as db, db.transaction():
                            await db.execute(_LOCK, f"{self.schema}.hub_setup")
                            await db.execute(sql.SETUP(self.schema))
                    except BaseException:
                        await pool.close()
                        raise
                self._pool = pool
            return self._pool

    async def _schema(self, db: Any, name: str) -> tuple[IndexSchema, str]:
        row = await db.fetchrow(
            f"SELECT schema, table_name FROM {sql.ident(self.schema)}.hub_indexes "  # noqa: S608
            "WHERE name = $1",
            name,
        )
        if row is None:
            raise missing_index(name, provider=self.name)
        return IndexSchema.model_validate(row["schema"]), row["table_name"]

    # -- the provider protocol -------------------------------------------------------------

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema:
        pool = await self._connection_pool()
        registry = f"{sql.ident(self.schema)}.hub_indexes"
        async with mapped(self.name, self._secrets), pool.acquire() as db, db.transaction():
            await db.execute(_LOCK, f"{self.schema}.{schema.name}")
            row = await db.fetchrow(
                f"SELECT schema, config FROM {registry} WHERE name = $1",  # noqa: S608
                schema.name,
            )
            if row is None:
                for statement in sql.create_table(self.schema, schema, self.config):
                    await db.execute(statement)
            else:
                old = IndexSchema.model_validate(row["schema"])
                if old.searchable != schema.searchable or row["config"] != self.config:
                    for statement in sql.rebuild_tsv(self.schema, schema, self.config):
                        await db.execute(statement)
            await db.execute(
                f"INSERT INTO {registry} (name, table_name, config, schema) "  # noqa: S608
                "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET "
                "config = excluded.config, schema = excluded.schema",
                schema.name,
                sql.table_name(schema.name),
                self.config,
                schema.model_dump(mode="json"),
            )
        return schema

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult:
        pool = await self._connection_pool()
        async with mapped(self.name, self._secrets), pool.acquire() as db:
            schema, table = await self._schema(db, name)
            prepared = prepare_documents(documents, schema)
            rows = [(prepared.ids[p], documents[p]) for p in prepared.accepted]
            async with db.transaction():
                await db.executemany(
                    f"INSERT INTO {sql.ident(self.schema)}.{sql.ident(table)} (id, doc) "  # noqa: S608
                    "VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    rows,
                )
        return index_result(prepared, prepared.refused, provider=self.name, index=name)

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults:
        pool = await self._connection_pool()
        words = tokenize(query)
        text = bool(words)
        head: list[Any] = [" ".join(f'"{w}"' for w in words), self.config] if text else []
        async with mapped(self.name, self._secrets), pool.acquire() as db:
            schema, table = await self._schema(db, name)
            check_filterable(filters, schema.filterable, index=name, provider=self.name)
            where, params = sql.filters_sql(filters, len(head) + 3)
            rows = await db.fetch(
                sql.search_query(self.schema, table, where, text=text),
                *head,
                limit,
                offset,
                *params,
            )
            if rows:
                total = int(rows[0]["total"])
            else:
                where, params = sql.filters_sql(filters, len(head) + 1)
                count = sql.count_query(self.schema, table, where, text=text)
                total = int(await db.fetchval(count, *head, *params))
        hits = [Hit(id=row["id"], score=float(row["score"]), document=row["doc"]) for row in rows]
        raw = {"tsquery_words": words, "config": self.config, "total": total}
        return SearchResults(hits=hits, total=total, provider=self.name, raw=raw)

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult:
        pool = await self._connection_pool()
        async with mapped(self.name, self._secrets), pool.acquire() as db:
            _, table = await self._schema(db, name)
            rows = await db.fetch(
                f"DELETE FROM {sql.ident(self.schema)}.{sql.ident(table)} "  # noqa: S608
                "WHERE id = ANY($1::text[]) RETURNING id",
                list(ids),
            )
        found = {row["id"] for row in rows}
        return delete_result(ids, found, provider=self.name, index=name)

    async def aclose(self) -> None:
        async with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


def _dsn_secrets(dsn: str) -> set[str]:
    """The DSN and its password, redacted from every message the hub writes."""
    from urllib.parse import unquote, urlsplit

    found = {dsn}
    password = urlsplit(dsn).password
    if password:
        found |= {password, unquote(password)}
    return found
