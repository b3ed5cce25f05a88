"""Local search: SQLite FTS5 in ``.hub/search.sqlite3``, BM25 ranking, filters in SQL.

Tables: ``indexes`` (name -> schema JSON), ``documents`` (one row per document, its JSON for
filters; the rowid is kept across re-indexing, so ties keep their order) and one FTS5 table per
index over its searchable fields, keyed by the document's rowid. The user's query never reaches
FTS5 as syntax: it is split into words and each word is quoted, so ``"foo``, ``AND``, ``*`` or
``NEAR(`` are just words. sqlite3 runs in a worker thread, one call at a time.
"""

# SQL here interpolates only validated identifiers (index names, c0..cN) and "?" placeholders;
# every value, including the user's words and filter values, is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio

from hub._runtime import ProviderContext
from hub.capabilities._filters import AnyOf, Condition, check_filterable
from hub.capabilities.search import (
    DeleteResult,
    DocumentResult,
    Hit,
    IndexResult,
    IndexSchema,
    SearchResults,
    document_ids,
    field_text,
    tokenize,
)
from hub.errors import NotFound, Unavailable
from hub.settings import ProviderSettings

__all__ = ["LocalSearchProvider", "LocalSearchSettings"]

T = TypeVar("T")
_SQL_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexes (name TEXT PRIMARY KEY, schema TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    rowid INTEGER PRIMARY KEY,
    index_name TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (index_name, id)
);
"""


class LocalSearchSettings(ProviderSettings):
    path: Path | None = None


def _fts(name: str) -> str:
    # Index names are validated (^[a-z0-9][a-z0-9_-]*$), so quoting makes them safe identifiers.
    return f'"fts_{name}"'


def _match_expression(query: str) -> str | None:
    """Every word quoted and implicitly ANDed; None when the query has no words."""
    words = tokenize(query)
    return " ".join('"' + word.replace('"', '""') + '"' for word in words) or None


def _where(conditions: Sequence[Condition]) -> tuple[str, list[Any]]:
    """SQL for the conditions over ``d.doc``, with the semantics of ``_filters.matches``."""
    clauses: list[str] = []
    params: list[Any] = []
    for condition in conditions:
        path = f'$."{condition.field}"'
        if isinstance(condition, AnyOf):
            marks = ", ".join("?" for _ in condition.values)
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(d.doc, ?) j "
                f"WHERE j.type NOT IN ('array', 'object') AND j.value IN ({marks}))"
            )
            params += [path, *condition.values]
        else:
            kinds = "('integer', 'real')" if condition.numeric else "('text')"
            tests = " AND ".join(f"j.value {_SQL_OPS[op]} ?" for op, _ in condition.bounds)
            clauses.append(
                f"EXISTS (SELECT 1 FROM json_each(d.doc, ?) j WHERE j.type IN {kinds} AND {tests})"
            )
            params += [path, *(bound for _, bound in condition.bounds)]
    return "".join(f" AND {clause}" for clause in clauses), params


class LocalSearchProvider:
    def __init__(self, settings: LocalSearchSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.path = settings.path or context.data_dir / "search.sqlite3"
        self._db: sqlite3.Connection | None = None
        self._lock = anyio.Lock()

    # -- the database, one call at a time in a worker thread --------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            return await anyio.to_thread.run_sync(self._guarded, work)

    def _guarded(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connect())
        except sqlite3.Error as exc:  # the one boundary where sqlite errors become hub errors
            busy = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            raise Unavailable(
                f"local search database {self.path}: {exc}", provider=self.name, retryable=busy
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    @contextmanager
    def _transaction(self, db: sqlite3.Connection) -> Iterator[None]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _schema(self, db: sqlite3.Connection, name: str) -> IndexSchema:
        row = db.execute("SELECT schema FROM indexes WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(
                f"no search index {name!r}; create it with hub.search.ensure_index({name!r}, "
                "searchable=[...])",
                provider=self.name,
                status=404,
            )
        return IndexSchema.model_validate_json(row[0])

    def _insert_text(
        self, db: sqlite3.Connection, schema: IndexSchema, rowid: int, texts: list[str]
    ) -> None:
        columns = ", ".join(f"c{i}" for i in range(len(schema.searchable)))
        marks = ", ".join("?" for _ in range(len(texts) + 1))
        db.execute(
            f"INSERT INTO {_fts(schema.name)} (rowid, {columns}) VALUES ({marks})",
            (rowid, *texts),
        )

    # -- the provider protocol --------------------------------------------------------------

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema:
        def work(db: sqlite3.Connection) -> IndexSchema:
            with self._transaction(db):
                row = db.execute(
                    "SELECT schema FROM indexes WHERE name = ?", (schema.name,)
                ).fetchone()
                old = None if row is None else IndexSchema.model_validate_json(row[0])
                db.execute(
                    "INSERT INTO indexes (name, schema) VALUES (?, ?) ON CONFLICT(name) "
                    "DO UPDATE SET schema = excluded.schema",
                    (schema.name, schema.model_dump_json()),
                )
                if old is None or old.searchable != schema.searchable:
                    self._rebuild(db, schema)
            return schema

        return await self._run(work)

    def _rebuild(self, db: sqlite3.Connection, schema: IndexSchema) -> None:
        """(Re)create the FTS table over the searchable fields from the stored documents."""
        db.execute(f"DROP TABLE IF EXISTS {_fts(schema.name)}")
        columns = ", ".join(f"c{i}" for i in range(len(schema.searchable)))
        db.execute(
            f"CREATE VIRTUAL TABLE {_fts(schema.name)} USING fts5({columns}, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        rows = db.execute("SELECT rowid, doc FROM documents WHERE index_name = ?", (schema.name,))
        for rowid, doc in rows.fetchall():
            document = json.loads(doc)
            texts = []
            for field in schema.searchable:
                try:
                    texts.append(field_text(document, field))
                except ValueError:
                    texts.append("")  # indexed before the field became searchable
            self._insert_text(db, schema, rowid, texts)

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult:
        def work(db: sqlite3.Connection) -> IndexResult:
            schema = self._schema(db, name)
            ids = document_ids(documents, schema.primary_key)
            results = []
            with self._transaction(db):
                for position, (doc_id, document) in enumerate(zip(ids, documents, strict=True)):
                    try:
                        texts = [field_text(document, field) for field in schema.searchable]
                    except ValueError as exc:
                        results.append(
                            DocumentResult(position=position, id=doc_id, ok=False, error=str(exc))
                        )
                        continue
                    (rowid,) = db.execute(
                        "INSERT INTO documents (index_name, id, doc) VALUES (?, ?, ?) "
                        "ON CONFLICT(index_name, id) DO UPDATE SET doc = excluded.doc "
                        "RETURNING rowid",
                        (name, doc_id, json.dumps(document)),
                    ).fetchone()
                    db.execute(f"DELETE FROM {_fts(name)} WHERE rowid = ?", (rowid,))
                    self._insert_text(db, schema, rowid, texts)
                    results.append(DocumentResult(position=position, id=doc_id, ok=True))
            return IndexResult(provider=self.name, index=name, results=results)

        return await self._run(work)

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults:
        def work(db: sqlite3.Connection) -> SearchResults:
            schema = self._schema(db, name)
            check_filterable(filters, schema.filterable, index=name, provider=self.name)
            where, params = _where(filters)
            match = _match_expression(query)
            fts = _fts(name)
            if match is None:
                source = "documents d WHERE d.index_name = ?"
                head: list[Any] = [name]
                score, order = "0.0", "d.rowid"
            else:
                source = f"{fts} JOIN documents d ON d.rowid = {fts}.rowid WHERE {fts} MATCH ?"
                head = [match]
                score, order = f"-bm25({fts})", f"bm25({fts}), d.rowid"
            total = db.execute(
                f"SELECT count(*) FROM {source}{where}",
                (*head, *params),
            ).fetchone()[0]
            rows = db.execute(
                f"SELECT d.id, d.doc, {score} FROM {source}{where} "
                f"ORDER BY {order} LIMIT ? OFFSET ?",
                (*head, *params, limit, offset),
            ).fetchall()
            hits = [
                Hit(id=row[0], score=float(row[2]), document=json.loads(row[1])) for row in rows
            ]
            return SearchResults(
                hits=hits, total=total, provider=self.name, raw={"match": match, "total": total}
            )

        return await self._run(work)

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult:
        def work(db: sqlite3.Connection) -> DeleteResult:
            self._schema(db, name)
            deleted, missing = [], []
            with self._transaction(db):
                for doc_id in ids:
                    row = db.execute(
                        "DELETE FROM documents WHERE index_name = ? AND id = ? RETURNING rowid",
                        (name, doc_id),
                    ).fetchone()
                    if row is None:
                        missing.append(doc_id)
                        continue
                    db.execute(f"DELETE FROM {_fts(name)} WHERE rowid = ?", row)
                    deleted.append(doc_id)
            return DeleteResult(provider=self.name, index=name, deleted=deleted, missing=missing)

        return await self._run(work)

    async def aclose(self) -> None:
        async with self._lock:
            if self._db is not None:
                db, self._db = self._db, None
                await anyio.to_thread.run_sync(db.close)
