"""Hub shapes to Meilisearch's and back: index settings, filters, hits, schemas, ids."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hub.capabilities._search_vendor import FilterDialect
from hub.capabilities.search import IndexSchema

__all__ = [
    "MEILISEARCH_FILTERS",
    "hit_document",
    "id_problem",
    "index_settings",
    "schema_from",
]

#: Document ids Meilisearch accepts (``invalid_document_id`` otherwise).
_ID = re.compile(r"^[A-Za-z0-9_-]{1,511}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: Keys Meilisearch adds to a hit.
_HIT_KEYS = ("_rankingScore", "_rankingScoreDetails", "_formatted", "_matchesPosition")


class _Filters(FilterDialect):
    """``genre = "drama" AND year >= 1990 AND tags IN ["a", "b"]`` (strings double-quoted,
    ``"`` and ``\\`` escaped with a backslash)."""

    vendor = "Meilisearch"


MEILISEARCH_FILTERS = _Filters()


def index_settings(
    schema: IndexSchema, *, exact_words: bool, max_total_hits: int
) -> dict[str, Any]:
    """``PATCH /indexes/{uid}/settings``: searchable in order (earlier fields rank higher),
    filterable plus the primary key (``delete`` looks ids up with a filter)."""
    filterable = list(dict.fromkeys([*schema.filterable, schema.primary_key]))
    body: dict[str, Any] = {
        "searchableAttributes": list(schema.searchable),
        "filterableAttributes": filterable,
        "pagination": {"maxTotalHits": max_total_hits},
    }
    if exact_words:
        body["typoTolerance"] = {"enabled": False}
        body["prefixSearch"] = "disabled"
    return body


def schema_from(name: str, index: Mapping[str, Any], settings: Mapping[str, Any]) -> IndexSchema:
    """The hub schema of an index made elsewhere (``GET /indexes/{uid}`` and its settings).

    ``searchableAttributes: ["*"]`` (every field) has no field list: only the primary key is
    then checked before sending (Meilisearch indexes whatever it finds).
    """
    primary_key = index.get("primaryKey") or "id"
    searchable = [f for f in settings.get("searchableAttributes") or [] if _is_field(f)]
    filterable: list[str] = []
    for entry in settings.get("filterableAttributes") or []:
        patterns = entry.get("attributePatterns", []) if isinstance(entry, dict) else [entry]
        filterable += [p for p in patterns if _is_field(p) and p not in filterable]
    return IndexSchema(
        name=name,
        searchable=tuple(searchable or [primary_key]),
        filterable=tuple(filterable),
        primary_key=primary_key,
    )


def _is_field(value: Any) -> bool:
    return isinstance(value, str) and bool(_FIELD.match(value))


def id_problem(doc_id: str, _document: Mapping[str, Any] | None = None) -> str | None:
    """Why Meilisearch would refuse this id (and with it the whole batch), or None."""
    if _ID.match(doc_id):
        return None
    return (
        f"Meilisearch document ids are 1-511 letters, digits, '-' or '_'; {doc_id!r} is not "
        "(it would fail the whole batch)"
    )


def hit_document(hit: Mapping[str, Any]) -> tuple[dict[str, Any], float]:
    """The document as indexed, and its ``_rankingScore`` (0..1)."""
    score = hit.get("_rankingScore")
    document = {k: v for k, v in hit.items() if k not in _HIT_KEYS}
    return document, float(score) if isinstance(score, int | float) else 0.0
