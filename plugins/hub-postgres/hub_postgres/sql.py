"""The SQL of the PostgreSQL search provider: tables, the weighted tsvector, queries, filters.

Per index one table ``<schema>."ix_<name>"``::

    seq  bigint GENERATED ALWAYS AS IDENTITY   -- indexing order; kept by an upsert (tie-break)
    id   text PRIMARY KEY
    doc  jsonb NOT NULL                         -- the document as given
    tsv  tsvector GENERATED ALWAYS AS (setweight(to_tsvector(cfg, hub_text(doc, 'title')), 'A')
                                       || setweight(to_tsvector(cfg, hub_text(doc, 'body')), 'B'))

with a GIN index on ``tsv`` (full text) and a ``jsonb_path_ops`` GIN index on ``doc`` (filters
by containment). The first searchable field weighs A, the others B. ``hub_text(doc, field)``
reads a field as the hub does (strings, numbers, lists of them joined by spaces), and the table
``hub_indexes`` keeps each index's schema. Identifiers are validated (settings, index names,
field names) before they reach SQL; every value is a bound parameter.
"""

# ruff: noqa: S608  (identifiers only are interpolated; they are validated and quoted)

from __future__ import annotations

import hashlib
from typing import Any

from hub.capabilities._filters import AnyOf, Condition
from hub.capabilities.search import IndexSchema

__all__ = [
    "SETUP",
    "count_query",
    "create_table",
    "filters_sql",
    "rebuild_tsv",
    "search_query",
    "table_name",
]

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def ident(name: str) -> str:
    """A double-quoted identifier (names are validated: no quote can occur)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A single-quoted SQL string (for DDL, where parameters are not allowed)."""
    return "'" + text.replace("'", "''") + "'"


def table_name(index: str) -> str:
    """``ix_<index>``, shortened with a hash where PostgreSQL's 63 characters would cut it."""
    name = f"ix_{index}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(index.encode()).hexdigest()[:16]
    return f"ix_{index[:40]}_{digest}"


def SETUP(schema: str) -> str:
    s = ident(schema)
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.hub_indexes (
    name text PRIMARY KEY,
    table_name text NOT NULL,
    config text NOT NULL,
    schema jsonb NOT NULL
);
CREATE OR REPLACE FUNCTION {s}.hub_text(doc jsonb, field text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(CASE jsonb_typeof(doc -> field)
        WHEN 'array' THEN (
            SELECT string_agg(e #>> '{{}}', ' ')
            FROM jsonb_array_elements(doc -> field) AS e
            WHERE jsonb_typeof(e) IN ('string', 'number', 'boolean'))
        WHEN 'object' THEN NULL
        WHEN 'null' THEN NULL
        ELSE doc ->> field END, '')
$$;
"""


def _tsv_expression(schema: str, index: IndexSchema, config: str) -> str:
    fn = f"{ident(schema)}.hub_text"
    parts = [
        f"setweight(to_tsvector({literal(config)}::regconfig, {fn}(doc, {literal(field)})), "
        f"'{'A' if position == 0 else 'B'}')"
        for position, field in enumerate(index.searchable)
    ]
    return " || ".join(parts)


def create_table(schema: str, index: IndexSchema, config: str) -> list[str]:
    table = f"{ident(schema)}.{ident(table_name(index.name))}"
    return [
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "seq bigint GENERATED ALWAYS AS IDENTITY, id text PRIMARY KEY, doc jsonb NOT NULL, "
        f"tsv tsvector GENERATED ALWAYS AS ({_tsv_expression(schema, index, config)}) STORED)",
        *_indexes(schema, index),
    ]


def rebuild_tsv(schema: str, index: IndexSchema, config: str) -> list[str]:
    """New searchable fields or text search config: the generated column is built anew."""
    table = f"{ident(schema)}.{ident(table_name(index.name))}"
    return [
        f"ALTER TABLE {table} DROP COLUMN IF EXISTS tsv",
        f"ALTER TABLE {table} ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
        f"({_tsv_expression(schema, index, config)}) STORED",
        *_indexes(schema, index),
    ]


def _indexes(schema: str, index: IndexSchema) -> list[str]:
    name = table_name(index.name)
    table = f"{ident(schema)}.{ident(name)}"
    return [
        f"CREATE INDEX IF NOT EXISTS {ident(name + '_tsv')} ON {table} USING gin (tsv)",
        f"CREATE INDEX IF NOT EXISTS {ident(name + '_doc')} ON {table} "
        "USING gin (doc jsonb_path_ops)",
        f"CREATE INDEX IF NOT EXISTS {ident(name + '_seq')} ON {table} (seq)",
    ]


def filters_sql(conditions: tuple[Condition, ...], first: int) -> tuple[str, list[Any]]:
    """`` AND ...`` over ``doc`` with the semantics of ``hub.capabilities._filters.matches``;
    parameters numbered from ``$first``.

    Equality and any-of are JSONB containment (``doc @> '{"tags": ["a"]}'``, served by the
    ``jsonb_path_ops`` index), tried as a scalar and as a one-element list so list fields match
    any element. A range compares each element of its own kind (numbers cast to numeric,
    strings in code-point order, as Python compares them).
    """
    clauses: list[str] = []
    params: list[Any] = []
    for condition in conditions:
        if isinstance(condition, AnyOf):
            candidates: list[Any] = []
            for value in condition.values:
                candidates += [{condition.field: value}, {condition.field: [value]}]
            params.append(candidates)
            clauses.append(f"doc @> ANY(${first + len(params) - 1}::jsonb[])")
            continue
        params.append(condition.field)
        field = f"${first + len(params) - 1}::text"
        if condition.numeric:
            kind, value = "'number'", "(e #>> '{}')::numeric"
        else:
            kind, value = "'string'", "(e #>> '{}') COLLATE \"C\""
        tests = []
        for op, bound in condition.bounds:
            params.append(bound if condition.numeric else str(bound))
            cast = "::numeric" if condition.numeric else "::text"
            tests.append(f"{value} {_OPS[op]} ${first + len(params) - 1}{cast}")
        clauses.append(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(doc -> "
            f"{field}) WHEN 'array' THEN doc -> {field} ELSE jsonb_build_array(doc -> {field}) "
            f"END) AS e WHERE jsonb_typeof(e) = {kind} AND {' AND '.join(tests)})"
        )
    return "".join(f" AND {clause}" for clause in clauses), params


def search_query(schema: str, table: str, where: str, *, text: bool) -> str:
    """Rows ``(id, doc, score, total)``. With text: ``$1`` the quoted words, ``$2`` the config,
    ``$3``/``$4`` limit/offset, filters from ``$5``; without: limit/offset ``$1``/``$2``,
    filters from ``$3``.

    Each word is quoted for ``websearch_to_tsquery``, so ``or`` and ``-`` stay words; a query
    whose words are all stop words of the config has no lexemes and matches every document.
    """
    t = f"{ident(schema)}.{ident(table)}"
    if not text:
        return (
            f"SELECT id, doc, 0.0::float8 AS score, count(*) OVER () AS total FROM {t} "
            f"WHERE true{where} ORDER BY seq LIMIT $1 OFFSET $2"
        )
    return (
        "WITH q AS (SELECT websearch_to_tsquery($2::regconfig, $1) AS query) "
        "SELECT id, doc, CASE WHEN numnode(q.query) = 0 THEN 0.0 "
        "ELSE ts_rank_cd(tsv, q.query) END::float8 AS score, count(*) OVER () AS total "
        f"FROM {t}, q WHERE (numnode(q.query) = 0 OR tsv @@ q.query){where} "
        "ORDER BY score DESC, seq LIMIT $3 OFFSET $4"
    )


def count_query(schema: str, table: str, where: str, *, text: bool) -> str:
    """The total alone (a page past the end has no row to carry it). With text: ``$1`` words,
    ``$2`` config, filters from ``$3``; without: filters from ``$1``."""
    t = f"{ident(schema)}.{ident(table)}"
    if not text:
        return f"SELECT count(*) FROM {t} WHERE true{where}"
    return (
        "WITH q AS (SELECT websearch_to_tsquery($2::regconfig, $1) AS query) "
        f"SELECT count(*) FROM {t}, q WHERE (numnode(q.query) = 0 OR tsv @@ q.query){where}"
    )
