"""The PostgreSQL plugin on the real server: text search configs, JSONB filters, upserts,
schema changes, the pool and its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from hub.core import Hub
from hub.errors import AuthenticationError, InvalidRequest, NotFound, Unavailable

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
MakeHub = Callable[..., Hub]
DOCS = [
    {"id": "a", "title": "Volcanic eruptions", "body": "The mountains erupted.",
     "tags": ["geo", "hot"], "year": 1990, "date": "2020-01-05", "score": 1.5},
    {"id": "b", "title": "Quiet lakes", "body": "The lake was calm or still.", "tags": ["water"],
     "year": 2005, "date": "2021-03-01", "score": "n/a"},
    {"id": "c", "title": "Lava", "body": "An eruption of lava.", "tags": "hot", "year": 2010,
     "date": "2019-12-31", "score": 3},
]  # fmt: skip


@pytest.fixture
async def make_hub(
    tmp_path: Path, database_url: str, pg_schema: str, anyio_backend: object
) -> AsyncIterator[MakeHub]:
    hubs: list[Hub] = []

    def make(**section: Any) -> Hub:
        hub = Hub.from_settings(
            env="test",
            data_dir=tmp_path,
            search={
                "provider": "postgres",
                "postgres": {"dsn": database_url, "schema": pg_schema, **section},
                "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
            },
        )
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.aclose()


async def loaded(hub: Hub) -> Hub:
    await hub.search.ensure_index(
        "notes", searchable=["title", "body"], filterable=["tags", "year", "date", "score"]
    )
    assert (await hub.search.index("notes", DOCS)).ok
    return hub


async def ids(hub: Hub, query: str = "", **options: Any) -> list[str]:
    return [hit.id for hit in (await hub.search.search("notes", query, **options)).hits]


async def test_english_stems_words_and_ignores_stop_words(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub())
    assert sorted(await ids(hub, "eruption")) == ["a", "c"]  # "eruptions" stems alike
    assert await ids(hub, "the lake") == ["b"]  # "the" is a stop word
    assert await ids(hub, "calm or still") == ["b"]  # "or" is a word, not an operator
    assert await ids(hub, "lake -calm") == ["b"]
    assert len(await ids(hub, "the")) == 3  # only stop words: no words to match


async def test_simple_matches_words_exactly(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub(text_search_config="simple"))
    assert await ids(hub, "eruption") == ["c"]
    assert await ids(hub, "the lake") == ["b"]


async def test_the_first_searchable_field_weighs_most(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub())
    results = await hub.search.search("notes", "lava eruption")
    assert [hit.id for hit in results.hits] == ["c"]
    both = await hub.search.search("notes", "eruption")
    assert [hit.id for hit in both.hits] == ["a", "c"]  # in a's title, only in c's body
    assert both.hits[0].score > both.hits[1].score


async def test_jsonb_filters_follow_the_hub_semantics(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub())
    assert await ids(hub, filters={"tags": "hot"}) == ["a", "c"]  # list element or scalar
    assert await ids(hub, filters={"tags": ["water", "geo"]}) == ["a", "b"]
    assert await ids(hub, filters={"year": {"gt": 1990, "lte": 2010}}) == ["b", "c"]
    assert await ids(hub, filters={"date": {"gte": "2020-01-01"}}) == ["a", "b"]
    assert await ids(hub, filters={"score": {"gte": 1}}) == ["a", "c"]  # "n/a" is no number
    assert await ids(hub, filters={"year": 2005.0}) == ["b"]
    with pytest.raises(InvalidRequest, match="not filterable"):
        await hub.search.search("notes", filters={"body": "x"})


async def test_reindexing_replaces_and_keeps_the_place(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub())
    await hub.search.index("notes", [{"id": "a", "title": "Replaced", "body": "", "year": 1}])
    assert await ids(hub) == ["a", "b", "c"]
    [hit] = (await hub.search.search("notes", "replaced")).hits
    assert hit.document == {"id": "a", "title": "Replaced", "body": "", "year": 1}
    assert await ids(hub, "volcanic") == []


async def test_changing_the_searchable_fields_rebuilds_the_vector(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub())
    await hub.search.ensure_index("notes", searchable=["body"], filterable=["year"])
    assert await ids(hub, "volcanic") == []
    assert await ids(hub, "mountains") == ["a"]
    another = make_hub(text_search_config="simple")  # another config rebuilds it too
    await another.search.ensure_index("notes", searchable=["body"], filterable=["year"])
    assert await ids(another, "mountain") == []


async def test_pages_carry_the_total_even_past_the_end(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub())
    page = await hub.search.search("notes", limit=2, offset=2)
    assert ([hit.id for hit in page.hits], page.total) == (["c"], 3)
    past = await hub.search.search("notes", "eruption", limit=2, offset=10)
    assert (past.hits, past.total) == ([], 2)


async def test_a_missing_index_and_missing_ids(make_hub: MakeHub) -> None:
    hub = await loaded(make_hub())
    with pytest.raises(NotFound, match="ensure_index"):
        await hub.search.index("nowhere", DOCS)
    result = await hub.search.delete("notes", ["b", "zz"])
    assert (result.deleted, result.missing) == (["b"], ["zz"])


async def test_the_tables_and_indexes_exist(
    make_hub: MakeHub, database_url: str, pg_schema: str
) -> None:
    await loaded(make_hub())
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = $1", pg_schema
        )
    finally:
        await connection.close()
    definitions = " ".join(row["indexdef"] for row in rows)
    assert "USING gin (tsv)" in definitions
    assert "USING gin (doc jsonb_path_ops)" in definitions


async def test_a_refused_password_is_an_authentication_error_without_the_password(
    make_hub: MakeHub, database_url: str
) -> None:
    bad = database_url.replace("postgresql://postgres@", "postgresql://nobody:s3cret-pw@")
    with pytest.raises((AuthenticationError, Unavailable)) as caught:
        await make_hub(dsn=bad).search.search("notes")
    assert "s3cret-pw" not in str(caught.value)


async def test_a_server_that_is_not_there_is_unavailable(make_hub: MakeHub) -> None:
    hub = make_hub(dsn="postgresql://postgres:pw-123456@127.0.0.1:1/db", connect_timeout=2)
    with pytest.raises(Unavailable, match="cannot reach PostgreSQL") as caught:
        await hub.search.search("notes")
    assert caught.value.retryable
    assert "pw-123456" not in str(caught.value)
