"""Search: index schemas, documents, results, the provider protocol and the ``hub.search`` facade.

Filters are documented and evaluated in :mod:`hub.capabilities._filters`. The helpers at the
bottom (:func:`document_ids`, :func:`field_text`, :func:`tokenize`) are how the built-in
providers read documents and split words, shared so that the local and fake providers agree.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.capabilities._filters import Condition, parse_filters, required_features
from hub.capabilities._models import Receipt, parse_input
from hub.capabilities._service import Service
from hub.errors import InvalidRequest

__all__ = [
    "FEATURES",
    "Condition",
    "DeleteResult",
    "DocumentResult",
    "Hit",
    "IndexResult",
    "IndexSchema",
    "SearchProvider",
    "SearchResults",
    "SearchService",
    "document_ids",
    "field_text",
    "tokenize",
    "validate_index_name",
]

#: Optional features a search provider may declare in its ProviderSpec.
FEATURES = frozenset({"filters", "range_filters", "scores", "async_tasks"})

MAX_LIMIT = 1000
MAX_QUERY_CHARS = 2048
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Letters and digits, like SQLite FTS5's unicode61 tokenizer ('_' separates words there too).
_WORD = re.compile(r"[^\W_]+")


def validate_index_name(name: str) -> str:
    if not isinstance(name, str) or not _INDEX_NAME.match(name):
        raise InvalidRequest(
            f"index name {name!r} must be 1-64 lower-case letters, digits, '_' or '-', starting "
            "with a letter or digit, e.g. 'products'",
            field="index",
        )
    return name


class IndexSchema(BaseModel):
    """Which fields are searched (full text) and which may be filtered on."""

    model_config = ConfigDict(frozen=True)

    name: str
    searchable: tuple[str, ...] = Field(min_length=1)
    filterable: tuple[str, ...] = ()
    primary_key: str = "id"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _INDEX_NAME.match(value):
            raise ValueError("must be 1-64 lower-case letters, digits, '_' or '-', e.g. 'products'")
        return value

    @field_validator("searchable", "filterable")
    @classmethod
    def _fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _FIELD.match(name):
                raise ValueError(f"{name!r} is not a field name like 'title' or 'release_year'")
        if len(set(value)) != len(value):
            raise ValueError("a field is listed twice")
        return value

    @model_validator(mode="after")
    def _key(self) -> Self:
        if not _FIELD.match(self.primary_key):
            raise ValueError(f"primary_key {self.primary_key!r} is not a field name like 'id'")
        return self


class DocumentResult(BaseModel):
    """One document of an ``index`` call: accepted, or the reason it was not."""

    model_config = ConfigDict(frozen=True)

    position: int
    id: str
    ok: bool
    error: str | None = None


class IndexResult(Receipt):
    """One result per document, in the order given."""

    index: str
    results: list[DocumentResult] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> list[DocumentResult]:
        return [result for result in self.results if not result.ok]


class DeleteResult(Receipt):
    index: str
    deleted: list[str] = Field(default_factory=list)
    #: Ids that were not in the index (deleting them is not an error).
    missing: list[str] = Field(default_factory=list)


class Hit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    #: Relevance, higher is better; comparable within one result set only.
    score: float
    document: dict[str, Any]


class SearchResults(BaseModel):
    model_config = ConfigDict(frozen=True)

    hits: list[Hit]
    #: Matches in total, across all pages.
    total: int
    provider: str
    raw: Any = Field(None, repr=False)


@runtime_checkable
class SearchProvider(Protocol):
    """What a search vendor implements. Filters arrive parsed; the provider checks them against
    the index's filterable fields (:func:`hub.capabilities._filters.check_filterable`)."""

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema: ...

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult: ...

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults: ...

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult: ...

    async def aclose(self) -> None: ...


class SearchService(Service[SearchProvider]):
    """``hub.search``: validates names, documents, queries and filters, then asks the provider.

    Every operation is idempotent (indexing is an upsert by id), so all may be retried.
    """

    capability = "search"

    async def ensure_index(
        self,
        name: str,
        *,
        searchable: Sequence[str],
        filterable: Sequence[str] = (),
        primary_key: str = "id",
    ) -> IndexSchema:
        """Create the index, or bring an existing one to this schema."""
        validate_index_name(name)
        schema = parse_input(
            IndexSchema,
            {
                "name": name,
                "searchable": _field_list(searchable, "searchable"),
                "filterable": _field_list(filterable, "filterable"),
                "primary_key": primary_key,
            },
            what="index schema",
        )
        return await self._call("ensure_index", lambda p: p.ensure_index(schema), idempotent=True)

    async def index(self, name: str, documents: Sequence[Mapping[str, Any]]) -> IndexResult:
        """Add or replace documents by id; one result per document, in order."""
        validate_index_name(name)
        if isinstance(documents, str | bytes | Mapping) or not isinstance(documents, Sequence):
            raise InvalidRequest("documents must be a list of dicts", field="documents")
        docs = [_json_document(position, doc) for position, doc in enumerate(documents)]
        return await self._call("index", lambda p: p.index(name, docs), idempotent=True)

    async def search(
        self,
        name: str,
        query: str = "",
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResults:
        """Documents matching every word of ``query`` (all of them when it has no words)."""
        validate_index_name(name)
        if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
            raise InvalidRequest(
                f"query must be a string of at most {MAX_QUERY_CHARS} characters", field="query"
            )
        if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
            raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
        if not (isinstance(offset, int) and offset >= 0):
            raise InvalidRequest("offset must be 0 or more", field="offset")
        conditions = parse_filters(filters)
        return await self._call(
            "search",
            lambda p: p.search(name, query, filters=conditions, limit=limit, offset=offset),
            idempotent=True,
            features=required_features(conditions),
        )

    async def delete(self, name: str, ids: Sequence[str | int]) -> DeleteResult:
        """Remove documents by id; ids that are not there are reported in ``missing``."""
        validate_index_name(name)
        if isinstance(ids, str | bytes) or not isinstance(ids, Sequence):
            raise InvalidRequest("ids must be a list of document ids", field="ids")
        keys = [_id_of(value, f"ids[{position}]") for position, value in enumerate(ids)]
        return await self._call("delete", lambda p: p.delete(name, keys), idempotent=True)


def _field_list(value: Sequence[str], what: str) -> list[str]:
    if isinstance(value, str):  # searchable="title" would otherwise become t, i, t, l, e
        raise InvalidRequest(f"{what} must be a list of field names, e.g. ['title']", field=what)
    return list(value)


def _json_document(position: int, document: Any) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        raise InvalidRequest(
            f"document {position} is a {type(document).__name__}, not a dict",
            field=f"documents[{position}]",
        )
    try:
        json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(
            f"document {position} is not JSON-serializable ({exc}); convert dates and "
            "decimals to strings or numbers first",
            field=f"documents[{position}]",
        ) from None
    return dict(document)


def _id_of(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidRequest(
            f"{where}: a document id must be a string or an integer, got {value!r}", field=where
        )
    text = str(value)
    if not text.strip():
        raise InvalidRequest(f"{where}: a document id may not be empty", field=where)
    return text


def document_ids(documents: Sequence[Mapping[str, Any]], primary_key: str) -> list[str]:
    """Every document's id (ints become strings); InvalidRequest names the first bad one."""
    ids = []
    for position, document in enumerate(documents):
        if primary_key not in document:
            raise InvalidRequest(
                f"document {position} has no {primary_key!r}; every document needs a non-empty "
                "string or integer id",
                field=f"documents[{position}].{primary_key}",
            )
        ids.append(_id_of(document[primary_key], f"documents[{position}].{primary_key}"))
    return ids


def field_text(document: Mapping[str, Any], field: str) -> str:
    """The searchable text of one field: strings, numbers and lists of them; ValueError else."""
    value = document.get(field)
    items = value if isinstance(value, list) else [value]
    parts = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, dict | list):
            raise ValueError(f"field {field!r} must be text, a number or a list of them")
        parts.append(str(item))
    return " ".join(parts)


def tokenize(text: str) -> list[str]:
    """Lower-cased words without diacritics, as SQLite's ``unicode61 remove_diacritics 2``."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(stripped)
