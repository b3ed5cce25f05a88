"""Fake search: indexes in memory, ranked by BM25 computed in Python, with fault injection.

It follows the local provider's semantics exactly (words ANDed, filters from
:mod:`hub.capabilities._filters`, ties in indexing order, an upsert keeps a document's place),
so a test written against one holds for the other.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hub._runtime import ProviderContext
from hub.capabilities._filters import Condition, check_filterable, matches
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
from hub.errors import HubError, NotFound
from hub.providers.fake._faults import FakeSettings, Faults

__all__ = ["FakeSearchProvider"]

# SQLite FTS5's bm25() defaults.
_K1 = 1.2
_B = 0.75


@dataclass(slots=True)
class _Entry:
    document: dict[str, Any]
    terms: Counter[str]
    length: int


@dataclass(slots=True)
class _Index:
    schema: IndexSchema
    #: id -> entry, in indexing order (re-indexing an id keeps its place).
    entries: dict[str, _Entry] = field(default_factory=dict)

    def entry(self, document: dict[str, Any], *, lenient: bool = False) -> _Entry:
        words: list[str] = []
        for name in self.schema.searchable:
            try:
                words += tokenize(field_text(document, name))
            except ValueError:
                if not lenient:
                    raise
        return _Entry(document, Counter(words), len(words))


class FakeSearchProvider:
    def __init__(self, settings: FakeSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.faults = Faults(context.name, settings.latency)
        self.indexes: dict[str, _Index] = {}

    def fail_next(self, n: int = 1, error: HubError | None = None) -> None:
        self.faults.fail_next(n, error)

    def _index(self, name: str) -> _Index:
        found = self.indexes.get(name)
        if found is None:
            raise NotFound(
                f"no search index {name!r}; create it with hub.search.ensure_index({name!r}, "
                "searchable=[...])",
                provider=self.name,
                status=404,
            )
        return found

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema:
        await self.faults.before("ensure_index")
        old = self.indexes.get(schema.name)
        index = self.indexes[schema.name] = _Index(schema)
        if old is not None:
            for doc_id, entry in old.entries.items():
                index.entries[doc_id] = index.entry(entry.document, lenient=True)
        return schema

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult:
        await self.faults.before("index")
        index = self._index(name)
        ids = document_ids(documents, index.schema.primary_key)
        results = []
        for position, (doc_id, document) in enumerate(zip(ids, documents, strict=True)):
            try:
                entry = index.entry(json.loads(json.dumps(document)))
            except ValueError as exc:
                results.append(
                    DocumentResult(position=position, id=doc_id, ok=False, error=str(exc))
                )
                continue
            index.entries[doc_id] = entry
            results.append(DocumentResult(position=position, id=doc_id, ok=True))
        return IndexResult(provider=self.name, index=name, results=results)

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults:
        await self.faults.before("search")
        index = self._index(name)
        check_filterable(filters, index.schema.filterable, index=name, provider=self.name)
        words = tokenize(query)
        entries = index.entries
        scored: list[tuple[float, int, str]] = []
        count = len(entries)
        average = sum(e.length for e in entries.values()) / count if count else 0.0
        having = {w: sum(1 for e in entries.values() if w in e.terms) for w in set(words)}
        for order, (doc_id, entry) in enumerate(entries.items()):
            if not matches(entry.document, filters):
                continue
            if not words:
                scored.append((0.0, order, doc_id))
            elif all(word in entry.terms for word in words):
                scored.append((_bm25(words, entry, having, count, average), order, doc_id))
        scored.sort(key=lambda item: (-item[0], item[1]))
        page = scored[offset : offset + limit]
        hits = [
            Hit(id=doc_id, score=score, document=json.loads(json.dumps(entries[doc_id].document)))
            for score, _, doc_id in page
        ]
        return SearchResults(
            hits=hits,
            total=len(scored),
            provider=self.name,
            raw={"words": words, "total": len(scored)},
        )

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult:
        await self.faults.before("delete")
        index = self._index(name)
        deleted: list[str] = []
        missing: list[str] = []
        for doc_id in ids:
            (deleted if index.entries.pop(doc_id, None) is not None else missing).append(doc_id)
        return DeleteResult(provider=self.name, index=name, deleted=deleted, missing=missing)

    async def aclose(self) -> None:
        return None


def _bm25(
    words: list[str], entry: _Entry, having: dict[str, int], count: int, average: float
) -> float:
    """Okapi BM25 as FTS5 computes it (each query word counts once per occurrence in the query)."""
    score = 0.0
    for word in words:
        idf = max(math.log((count - having[word] + 0.5) / (having[word] + 0.5)), 1e-6)
        frequency = entry.terms[word]
        norm = _K1 * (1 - _B + _B * entry.length / (average or 1.0))
        score += idf * frequency * (_K1 + 1) / (frequency + norm)
    return score
