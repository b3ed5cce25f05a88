"""Hub shapes to OpenSearch's query DSL and back: mappings, bulk lines, filters, hits."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hub.capabilities._filters import AnyOf, Condition
from hub.capabilities.search import IndexSchema

__all__ = ["bulk_body", "filter_clauses", "index_body", "schema_from", "search_body"]

#: The keyword sub-field of a field that is searched (text) and filtered (exact) both.
RAW = "raw"


def mappings(schema: IndexSchema) -> dict[str, Any]:
    """Searchable fields are ``text`` (with a ``raw`` keyword when also filterable); other
    strings are mapped ``keyword`` as they arrive, numbers by OpenSearch's detection; the hub
    schema rides along in ``_meta`` so another process can read it back."""
    properties: dict[str, Any] = {}
    for name in schema.searchable:
        spec: dict[str, Any] = {"type": "text"}
        if name in schema.filterable:
            spec["fields"] = {RAW: {"type": "keyword"}}
        properties[name] = spec
    if schema.primary_key not in schema.searchable:
        properties[schema.primary_key] = {"type": "keyword"}
    return {
        "_meta": {"hub": schema.model_dump(mode="json")},
        "dynamic_templates": [
            {"hub_strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}
        ],
        "properties": properties,
    }


def index_body(schema: IndexSchema) -> dict[str, Any]:
    return {"mappings": mappings(schema)}


def schema_from(name: str, answer: Mapping[str, Any]) -> IndexSchema | None:
    """The hub schema from ``GET /{index}/_mapping``, None for an index the hub did not make."""
    for entry in answer.values():
        meta = (entry.get("mappings") or {}).get("_meta") or {}
        if isinstance(meta.get("hub"), dict):
            return IndexSchema.model_validate({**meta["hub"], "name": name})
    return None


def _target(schema: IndexSchema, field: str) -> str:
    return f"{field}.{RAW}" if field in schema.searchable else field


def filter_clauses(schema: IndexSchema, conditions: Sequence[Condition]) -> list[dict[str, Any]]:
    """``term``/``terms`` for equality and any-of, ``range`` for bounds (keyword ranges compare
    strings in code-point order)."""
    clauses: list[dict[str, Any]] = []
    for condition in conditions:
        target = _target(schema, condition.field)
        if isinstance(condition, AnyOf):
            if len(condition.values) == 1:
                clauses.append({"term": {target: condition.values[0]}})
            else:
                clauses.append({"terms": {target: list(condition.values)}})
        else:
            clauses.append({"range": {target: dict(condition.bounds)}})
    return clauses


def search_body(
    schema: IndexSchema, words: str, conditions: Sequence[Condition], *, limit: int, offset: int
) -> dict[str, Any]:
    """Every word in any searchable field (``cross_fields`` + ``and``), filters that do not
    score, the exact total, ties broken by the primary key."""
    must: list[dict[str, Any]] = [{"match_all": {}}]
    if words:
        must = [
            {
                "multi_match": {
                    "query": words,
                    "fields": list(schema.searchable),
                    "type": "cross_fields",
                    "operator": "and",
                }
            }
        ]
    tie = _target(schema, schema.primary_key)
    return {
        "query": {"bool": {"must": must, "filter": filter_clauses(schema, conditions)}},
        "from": offset,
        "size": limit,
        "track_total_hits": True,
        "track_scores": True,
        "sort": [
            {"_score": {"order": "desc"}},
            {tie: {"order": "asc", "unmapped_type": "keyword"}},
        ],
    }


def bulk_body(lines: Sequence[Mapping[str, Any]]) -> bytes:
    """NDJSON: one JSON object per line, and a final newline (the _bulk API requires it)."""
    return ("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n").encode()
