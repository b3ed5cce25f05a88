"""The search contract: relevance, every query word, exact filters, pagination, upserts, deletes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from hub.capabilities.search import tokenize
from hub.errors import InvalidRequest, NotFound
from hub.testing.conformance._base import ConformanceSuite, VendorCall
from hub.testing.conformance._corpus import load_corpus, relevance

if TYPE_CHECKING:
    from hub.capabilities.search import SearchResults
    from hub.core import Hub

__all__ = ["SearchConformance"]

Document = dict[str, Any]
_BATCH = 100


class SearchConformance(ConformanceSuite):
    """Subclass with ``provider = "<name>"``. A vendor that indexes asynchronously overrides
    :meth:`settle` to wait until the index reflects what was written."""

    capability = "search"
    index_name: ClassVar[str] = "hub-conformance"

    async def settle(self, hub: Hub) -> None:
        """Wait until writes are searchable (nothing to wait for by default)."""

    async def load(self, hub: Hub) -> list[Document]:
        """Create the index and add the corpus; return the corpus."""
        corpus = load_corpus()
        await hub.search.ensure_index(
            self.index_name, searchable=["title", "body"], filterable=["category", "year", "tags"]
        )
        for start in range(0, len(corpus), _BATCH):
            batch = corpus[start : start + _BATCH]
            result = await hub.search.index(self.index_name, batch)
            assert result.ok, f"documents were refused: {result.failed}"
            assert [r.id for r in result.results] == [doc["id"] for doc in batch]
            assert [r.position for r in result.results] == list(range(len(batch)))
        await self.settle(hub)
        return corpus

    async def search(self, hub: Hub, query: str = "", **options: Any) -> SearchResults:
        return await hub.search.search(self.index_name, query, **options)

    async def test_the_obviously_best_document_ranks_first(self, provider_hub: Hub) -> None:
        corpus = await self.load(provider_hub)
        titles = {doc["id"]: doc["title"] for doc in corpus}
        wrong = []
        for case in relevance(corpus):
            results = await self.search(provider_hub, case.query, limit=5)
            assert results.provider == self.provider
            top = [hit.id for hit in results.hits]
            if not top or top[0] != case.best_id:
                shown = ", ".join(f"{i} {titles.get(i, '?')!r}" for i in top) or "nothing"
                wrong.append(f"{case.query!r}: expected {case.title!r} first, got {shown}")
        assert not wrong, "ranking is off:\n  " + "\n  ".join(wrong)

    async def test_hits_carry_documents_and_scores(self, provider_hub: Hub) -> None:
        corpus = await self.load(provider_hub)
        by_id = {doc["id"]: doc for doc in corpus}
        results = await self.search(provider_hub, "volcano eruption", limit=10)
        assert results.total == 5, f"1 best document and 4 distractors match, got {results.total}"
        for hit in results.hits:
            assert hit.document == by_id[hit.id], f"hit {hit.id} came back altered"
        if "scores" in self.features(provider_hub):
            scores = [hit.score for hit in results.hits]
            assert scores == sorted(scores, reverse=True), f"scores out of order: {scores}"

    async def test_every_query_word_must_match(self, provider_hub: Hub) -> None:
        await self.load(provider_hub)
        assert (await self.search(provider_hub, "volcano sourdough")).total == 0
        assert (await self.search(provider_hub, "glacier")).total == 7
        assert (await self.search(provider_hub, "glacier retreat")).total == 5

    @pytest.mark.parametrize(
        ("filters", "predicate"),
        [
            ({"category": "science"}, lambda d: d["category"] == "science"),
            ({"category": ["music", "sport"]}, lambda d: d["category"] in ("music", "sport")),
            ({"tags": "interview"}, lambda d: "interview" in d["tags"]),
            (
                {"category": "history", "tags": ["featured", "review"]},
                lambda d: d["category"] == "history" and {"featured", "review"} & set(d["tags"]),
            ),
            ({"year": 1999}, lambda d: d["year"] == 1999),
        ],
        ids=["equal", "any-of", "list-field", "combined", "number"],
    )
    async def test_filters_are_exact(
        self, provider_hub: Hub, filters: dict[str, Any], predicate: Callable[[Document], bool]
    ) -> None:
        self.require(provider_hub, "filters")
        corpus = await self.load(provider_hub)
        await self.check_filter(provider_hub, corpus, filters, predicate)

    @pytest.mark.parametrize(
        ("filters", "predicate"),
        [
            ({"year": {"gte": 1990, "lt": 2000}}, lambda d: 1990 <= d["year"] < 2000),
            ({"year": {"gt": 2020}}, lambda d: d["year"] > 2020),
            (
                {"year": {"lte": 1960}, "category": "travel"},
                lambda d: d["year"] <= 1960 and d["category"] == "travel",
            ),
        ],
        ids=["half-open", "open-ended", "with-equality"],
    )
    async def test_range_filters_are_exact(
        self, provider_hub: Hub, filters: dict[str, Any], predicate: Callable[[Document], bool]
    ) -> None:
        self.require(provider_hub, "filters", "range_filters")
        corpus = await self.load(provider_hub)
        await self.check_filter(provider_hub, corpus, filters, predicate)

    async def check_filter(
        self,
        hub: Hub,
        corpus: list[Document],
        filters: dict[str, Any],
        predicate: Callable[[Document], bool],
    ) -> None:
        expected = {doc["id"] for doc in corpus if predicate(doc)}
        assert expected, "a filter check needs matching documents"
        results = await self.search(hub, filters=filters, limit=1000)
        got = {hit.id for hit in results.hits}
        assert results.total == len(expected), f"total {results.total}, expected {len(expected)}"
        assert got == expected, (
            f"filter {filters}: {len(got - expected)} extra ({sorted(got - expected)[:5]}), "
            f"{len(expected - got)} missing ({sorted(expected - got)[:5]})"
        )
        with_text = await self.search(hub, "glacier", filters=filters, limit=1000)
        glacier = {doc["id"] for doc in corpus if "glacier" in _words(doc)}
        assert {hit.id for hit in with_text.hits} == expected & glacier

    async def test_pagination_has_no_duplicates_or_gaps(self, provider_hub: Hub) -> None:
        corpus = await self.load(provider_hub)
        await self.check_pages(provider_hub, {doc["id"] for doc in corpus}, page_size=40)
        if "filters" in self.features(provider_hub):
            science = {doc["id"] for doc in corpus if doc["category"] == "science"}
            await self.check_pages(
                provider_hub, science, page_size=7, filters={"category": "science"}
            )

    async def check_pages(
        self, hub: Hub, expected: set[str], *, page_size: int, **options: Any
    ) -> None:
        seen: list[str] = []
        offset = 0
        while True:
            page = await self.search(hub, limit=page_size, offset=offset, **options)
            assert page.total == len(expected), f"page at {offset}: total {page.total}"
            assert len(page.hits) <= page_size
            if not page.hits:
                break
            seen.extend(hit.id for hit in page.hits)
            offset += page_size
        duplicates = sorted({i for i in seen if seen.count(i) > 1})
        assert not duplicates, f"documents on two pages: {duplicates[:10]}"
        assert set(seen) == expected, f"documents on no page: {sorted(expected - set(seen))[:10]}"

    async def test_indexing_an_id_again_replaces_the_document(self, provider_hub: Hub) -> None:
        corpus = await self.load(provider_hub)
        case = relevance(corpus)[0]
        replacement = {
            "id": case.best_id,
            "title": "Zeppelin over the harbor",
            "body": "A zeppelin floats over the harbor.",
            "category": "travel",
            "year": 1936,
            "tags": ["archive"],
        }
        result = await provider_hub.search.index(self.index_name, [replacement])
        assert result.ok, result.failed
        await self.settle(provider_hub)
        assert (await self.search(provider_hub)).total == len(corpus)
        found = await self.search(provider_hub, "zeppelin")
        assert [hit.id for hit in found.hits] == [case.best_id]
        assert found.hits[0].document == replacement
        gone = await self.search(provider_hub, case.query, limit=100)
        assert case.best_id not in {hit.id for hit in gone.hits}

    async def test_delete_removes_documents_and_reports_missing(self, provider_hub: Hub) -> None:
        corpus = await self.load(provider_hub)
        cases = relevance(corpus)[:2]
        ids = [case.best_id for case in cases]
        result = await provider_hub.search.delete(self.index_name, [*ids, "doc-not-there"])
        assert result.provider == self.provider
        assert sorted(result.deleted) == sorted(ids), result
        assert result.missing == ["doc-not-there"], result
        await self.settle(provider_hub)
        assert (await self.search(provider_hub)).total == len(corpus) - len(ids)
        for case in cases:
            hits = (await self.search(provider_hub, case.query, limit=100)).hits
            assert case.best_id not in {hit.id for hit in hits}, f"{case.best_id} still found"
        again = await provider_hub.search.delete(self.index_name, ids)
        assert again.deleted == [], again
        assert sorted(again.missing) == sorted(ids), again

    async def test_a_missing_index_is_not_found(self, provider_hub: Hub) -> None:
        with pytest.raises(NotFound) as caught:
            await provider_hub.search.search("hub-conformance-missing", "anything")
        assert caught.value.provider == self.provider

    @pytest.mark.parametrize(
        "call",
        [
            lambda s, name: s.search("Bad Name!", "x"),
            lambda s, name: s.search(name, "x", limit=0),
            lambda s, name: s.search(name, "x", offset=-1),
            lambda s, name: s.search(name, "x", filters={"body": "x"}),
            lambda s, name: s.search(name, "x", filters={"year": {"between": [1, 2]}}),
            lambda s, name: s.index(name, [{"title": "no id"}]),
            lambda s, name: s.index(name, [{"id": "x", "title": {"nested": "object"}}]),
            lambda s, name: s.delete(name, [None]),
        ],
        ids=[
            "index-name",
            "limit",
            "offset",
            "unfilterable-field",
            "range-operator",
            "missing-id",
            "nested-field",
            "bad-id",
        ],
    )
    async def test_invalid_input_raises_invalid_request(
        self, provider_hub: Hub, call: Callable[[Any, str], Any]
    ) -> None:
        await provider_hub.search.ensure_index(
            self.index_name, searchable=["title", "body"], filterable=["category", "year"]
        )
        try:
            outcome = await call(provider_hub.search, self.index_name)
        except InvalidRequest:
            return
        # A vendor may accept a batch and refuse the document in it instead.
        failed = getattr(outcome, "failed", None)
        assert failed, f"expected InvalidRequest (or a refused document), got {outcome!r}"

    async def prepare_vendor_call(self, hub: Hub) -> VendorCall:
        await hub.search.ensure_index(self.index_name, searchable=["title", "body"])
        return lambda: hub.search.search(self.index_name, "anything")


def _words(doc: Document) -> set[str]:
    return set(tokenize(f"{doc['title']} {doc['body']}"))
