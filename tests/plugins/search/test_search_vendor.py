"""hub.capabilities._search_vendor: what the search vendor plugins share."""

from __future__ import annotations

from typing import Any

import pytest

from hub.capabilities._filters import parse_filters
from hub.capabilities._search_vendor import (
    FilterDialect,
    SchemaCache,
    await_task,
    covering_page,
    delete_result,
    escape,
    index_in_batches,
    prepare_documents,
    query_words,
    render_filters,
    windows,
)
from hub.capabilities.search import IndexSchema
from hub.errors import InvalidRequest, Timeout, UnsupportedFeature
from hub.testing.clock import FakeClock

SCHEMA = IndexSchema(name="films", searchable=("title",), filterable=("genre",))


def test_query_words_never_carry_syntax() -> None:
    assert query_words('"Space" -odyssey OR  café*') == "space odyssey or cafe"
    assert query_words("  ") == ""


def test_escape_doubles_the_escape_and_escapes_the_quote() -> None:
    assert escape('a"b\\c') == '"a\\"b\\\\c"'
    assert escape("it's", quote="'") == "'it\\'s'"


def test_the_default_dialect_writes_each_kind_of_condition() -> None:
    conditions = parse_filters(
        {"genre": "scifi", "tags": ["a", "b"], "year": {"gte": 1990, "lt": 2000}, "ok": True}
    )
    assert render_filters(conditions, FilterDialect(), provider="x") == (
        'genre = "scifi" AND tags IN ["a", "b"] AND year >= 1990 AND year < 2000 AND ok = true'
    )
    assert render_filters((), FilterDialect(), provider="x") is None


def test_string_ranges_are_unsupported_unless_the_dialect_allows_them() -> None:
    conditions = parse_filters({"date": {"gte": "2020-01-01"}})
    with pytest.raises(UnsupportedFeature) as caught:
        render_filters(conditions, FilterDialect(), provider="acme")
    assert (caught.value.provider, caught.value.field) == ("acme", "range_filters")

    class Lexicographic(FilterDialect):
        string_ranges = True

    assert render_filters(conditions, Lexicographic(), provider="x") == 'date >= "2020-01-01"'


def test_prepare_refuses_bad_fields_and_asks_the_vendor_check() -> None:
    documents = [
        {"id": "a", "title": "ok"},
        {"id": "b", "title": {"nested": 1}},
        {"id": 3, "title": "vendor says no"},
    ]
    prepared = prepare_documents(documents, SCHEMA, check=lambda i, d: "odd" if i == "3" else None)
    assert prepared.ids == ["a", "b", "3"]
    assert prepared.accepted == [0]
    assert set(prepared.refused) == {1, 2}
    assert prepared.refused[2] == "odd"
    with pytest.raises(InvalidRequest, match="has no 'id'"):
        prepare_documents([{"title": "x"}], SCHEMA)


@pytest.mark.anyio
async def test_batches_go_in_order_and_refusals_are_merged() -> None:
    prepared = prepare_documents([{"id": str(n), "title": "t"} for n in range(5)], SCHEMA)
    sent: list[list[int]] = []

    async def send(batch: list[int]) -> dict[int, str]:
        sent.append(batch)
        return {4: "too big"} if 4 in batch else {}

    failures = await index_in_batches(prepared, 2, send)
    assert sent == [[0, 1], [2, 3], [4]]
    assert failures == {4: "too big"}


def test_windows_and_covering_pages() -> None:
    assert windows(5, 600, 250) == [(5, 250), (255, 250), (505, 100)]
    assert windows(0, 3, 250) == [(0, 3)]
    assert covering_page(40, 40, max_total=1000, provider="p", setting="s") == (2, 40, 0)
    page, per_page, skip = covering_page(5, 3, max_total=1000, provider="p", setting="s")
    assert (page - 1) * per_page + skip == 5
    assert skip + 3 <= per_page
    for offset in range(0, 60):
        for limit in (1, 3, 7, 10):
            page, per_page, skip = covering_page(
                offset, limit, max_total=1000, provider="p", setting="s"
            )
            assert (page - 1) * per_page + skip == offset
            assert skip + limit <= per_page
    with pytest.raises(InvalidRequest, match="raise the provider's max_total_hits"):
        covering_page(990, 20, max_total=1000, provider="p", setting="max_total_hits")


def test_delete_result_splits_found_from_missing() -> None:
    result = delete_result(["a", "b", "a"], {"a"}, provider="p", index="i")
    assert (result.deleted, result.missing) == (["a"], ["b", "a"])


@pytest.mark.anyio
async def test_await_task_backs_off_until_done_or_the_deadline() -> None:
    clock = FakeClock()
    answers = iter([False, False, True])

    async def poll() -> bool:
        return next(answers)

    await await_task(poll, clock=clock, timeout_seconds=10, provider="p", what="task 1")
    assert clock.sleeps == [0.02, 0.04]

    async def never() -> bool:
        return False

    with pytest.raises(Timeout, match="task 2 was not processed within 1 s") as caught:
        await await_task(never, clock=clock, timeout_seconds=1, provider="p", what="task 2")
    assert caught.value.retryable
    assert sum(clock.sleeps[2:]) == pytest.approx(1)


@pytest.mark.anyio
async def test_the_schema_cache_loads_once() -> None:
    cache = SchemaCache()
    loads: list[str] = []

    async def load(name: str) -> IndexSchema:
        loads.append(name)
        return SCHEMA

    assert await cache.get("films", load) is SCHEMA
    assert await cache.get("films", load) is SCHEMA
    assert loads == ["films"]
    cache.forget("films")
    other: Any = IndexSchema(name="films", searchable=("body",))
    cache.remember(other)
    assert await cache.get("films", load) is other
