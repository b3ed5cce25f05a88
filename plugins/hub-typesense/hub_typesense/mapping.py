"""Hub shapes to Typesense's and back: collection fields, filter_by, documents, schemas."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hub.capabilities._filters import RangeOp, Scalar
from hub.capabilities._search_vendor import FilterDialect
from hub.capabilities.search import IndexSchema
from hub.errors import InvalidRequest

__all__ = [
    "TYPESENSE_FILTERS",
    "collection_fields",
    "from_typesense",
    "id_conflict",
    "jsonl",
    "schema_from",
    "to_typesense",
]

#: The type Typesense gives a searchable field: strings and lists of strings (numbers coerced).
SEARCHABLE_TYPE = "string*"


class _Filters(FilterDialect):
    """``category:=science && tags:=[`a`, `b`] && year:>=1990``: values in backticks, which
    Typesense reads verbatim (a value holding a backtick cannot be written)."""

    vendor = "Typesense"
    conjunction = " && "

    def literal(self, value: Scalar) -> str:
        if isinstance(value, str):
            if "`" in value:
                raise InvalidRequest(
                    f"Typesense filter values cannot contain a backtick: {value!r}",
                    field="filters",
                )
            return f"`{value}`"
        return super().literal(value)

    def equal(self, field: str, value: Scalar) -> str:
        return f"{field}:={self.literal(value)}"

    def any_of(self, field: str, values: tuple[Scalar, ...]) -> str:
        return f"{field}:=[{', '.join(self.literal(v) for v in values)}]"

    def compare(self, field: str, op: RangeOp, value: str | int | float) -> str:
        return f"{field}:{self.operators[op]}{self.literal(value)}"


TYPESENSE_FILTERS = _Filters()


def collection_fields(schema: IndexSchema) -> list[dict[str, Any]]:
    """Searchable fields as ``string*``; filterable ones faceted, their type left to
    Typesense's detection (``auto``) unless also searchable."""
    fields = [
        {
            "name": name,
            "type": SEARCHABLE_TYPE,
            "facet": name in schema.filterable,
            "optional": True,
        }
        for name in schema.searchable
    ]
    fields += [
        {"name": name, "type": "auto", "facet": True, "optional": True}
        for name in schema.filterable
        if name not in schema.searchable
    ]
    return fields


def schema_from(collection: Mapping[str, Any]) -> IndexSchema:
    """The hub schema of a collection: ``string*`` fields are searchable, faceted filterable."""
    fields = [f for f in collection.get("fields", []) if isinstance(f, dict)]
    searchable = [f["name"] for f in fields if f.get("type") == SEARCHABLE_TYPE]
    filterable = list(dict.fromkeys(f["name"] for f in fields if f.get("facet")))
    return IndexSchema(
        name=collection["name"],
        searchable=tuple(searchable) or ("id",),
        filterable=tuple(filterable),
        primary_key="id",
    )


def id_conflict(schema: IndexSchema) -> Any:
    """A check for prepare_documents: with another primary key, a document's own ``id``
    field would collide with the Typesense id the hub sets."""

    def check(doc_id: str, document: Mapping[str, Any]) -> str | None:
        if schema.primary_key != "id" and "id" in document:
            return (
                f"the document has an 'id' field while its primary key is "
                f"{schema.primary_key!r}; Typesense keys every document by 'id', so rename it"
            )
        return None

    return check


def to_typesense(document: Mapping[str, Any], doc_id: str) -> dict[str, Any]:
    """The document with Typesense's string ``id`` (an integer id comes back as a string)."""
    return {**document, "id": doc_id}


def from_typesense(document: Mapping[str, Any], schema: IndexSchema) -> dict[str, Any]:
    if schema.primary_key == "id":
        return dict(document)
    return {k: v for k, v in document.items() if k != "id"}


def jsonl(documents: Sequence[Mapping[str, Any]]) -> bytes:
    return "\n".join(json.dumps(d, ensure_ascii=False) for d in documents).encode()
