"""Hub shapes to Algolia's and back: index settings, filters, records, hits, schemas."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hub.capabilities._filters import Scalar
from hub.capabilities._search_vendor import FilterDialect, escape
from hub.capabilities.search import IndexSchema

__all__ = ["ALGOLIA_FILTERS", "hit_document", "index_settings", "record", "schema_from"]

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_HIT_KEYS = ("_highlightResult", "_snippetResult", "_rankingInfo", "_distinctSeqID")
_MODIFIER = re.compile(r"^(?:filterOnly|searchable|afterDistinct|unordered|ordered)\((.*)\)$")


class _Filters(FilterDialect):
    """``category:"science" AND (tags:"a" OR tags:"b") AND year >= 1990``: facet filters for
    strings and booleans, numeric filters for numbers."""

    vendor = "Algolia"

    def equal(self, field: str, value: Scalar) -> str:
        if isinstance(value, bool):
            return f"{field}:{'true' if value else 'false'}"
        if isinstance(value, str):
            return f"{field}:{escape(value)}"
        return f"{field} = {value!r}"

    def any_of(self, field: str, values: tuple[Scalar, ...]) -> str:
        return "(" + " OR ".join(self.equal(field, v) for v in values) + ")"


ALGOLIA_FILTERS = _Filters()


def index_settings(schema: IndexSchema, *, max_hits: int) -> dict[str, Any]:
    """``PUT /1/indexes/{index}/settings``: searchable in order, filterable as
    ``filterOnly(...)`` facets, exact words (no typos, no prefixes, no dropped words), and the
    hub schema in ``userData`` so another process can read it back."""
    return {
        "searchableAttributes": list(schema.searchable),
        "attributesForFaceting": [f"filterOnly({name})" for name in schema.filterable],
        "typoTolerance": False,
        "queryType": "prefixNone",
        "removeWordsIfNoResults": "none",
        "ignorePlurals": False,
        "advancedSyntax": False,
        "paginationLimitedTo": max_hits,
        "userData": {"hub": schema.model_dump(mode="json")},
    }


def schema_from(name: str, settings: Mapping[str, Any]) -> IndexSchema:
    """The schema from ``userData`` when the hub wrote the settings, else from the settings."""
    user = settings.get("userData")
    if isinstance(user, dict) and isinstance(user.get("hub"), dict):
        return IndexSchema.model_validate({**user["hub"], "name": name})
    searchable = [
        field
        for entry in settings.get("searchableAttributes") or []
        for field in _unwrap(entry).split(",")
        if _FIELD.match(field.strip())
    ]
    filterable = [
        _unwrap(entry)
        for entry in settings.get("attributesForFaceting") or []
        if _FIELD.match(_unwrap(entry))
    ]
    return IndexSchema(
        name=name,
        searchable=tuple(f.strip() for f in searchable) or ("objectID",),
        filterable=tuple(dict.fromkeys(filterable)),
        primary_key="objectID",
    )


def _unwrap(entry: Any) -> str:
    text = str(entry).strip()
    match = _MODIFIER.match(text)
    return match.group(1).strip() if match else text


def record(document: Mapping[str, Any], doc_id: str) -> dict[str, Any]:
    """The record Algolia stores: the document plus its ``objectID``."""
    return {**document, "objectID": doc_id}


def hit_document(hit: Mapping[str, Any], schema: IndexSchema) -> dict[str, Any]:
    """The document as indexed: Algolia's ``_highlightResult``/``_rankingInfo``... and the
    ``objectID`` it added are left out."""
    drop = set(_HIT_KEYS) | ({"objectID"} if schema.primary_key != "objectID" else set())
    return {k: v for k, v in hit.items() if k not in drop}
