"""hub.search: every scenario on the local (SQLite FTS5) and the fake (in-memory) provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import hub
from hub.capabilities.search import tokenize
from hub.errors import InvalidRequest, NotFound, Unavailable
from hub.providers.fake.search import FakeSearchProvider

MOVIES: list[dict[str, Any]] = [
    {
        "id": 1,
        "title": "Alien",
        "overview": "The crew of a space tug meets a deadly creature",
        "genre": "horror",
        "year": 1979,
        "tags": ["space", "creature"],
        "released": "1979-05-25",
    },
    {
        "id": 2,
        "title": "Blade Runner",
        "overview": "A blade runner hunts replicants in a rainy city",
        "genre": "scifi",
        "year": 1982,
        "tags": ["noir", "android"],
        "released": "1982-06-25",
    },
    {
        "id": 3,
        "title": "Solaris",
        "overview": "A psychologist visits a space station orbiting an ocean planet",
        "genre": "scifi",
        "year": 1972,
        "tags": ["space"],
        "released": "1972-03-20",
    },
    {
        "id": 4,
        "title": "The Matrix",
        "overview": "A hacker learns the world is a simulation",
        "genre": "scifi",
        "year": 1999,
        "tags": ["cyberpunk"],
        "released": "1999-03-31",
    },
    {
        "id": 5,
        "title": "Heat",
        "overview": "A detective hunts a crew of thieves in the city",
        "genre": "crime",
        "year": 1995,
        "tags": ["heist"],
        "released": "1995-12-15",
    },
    {
        "id": "m-6",
        "title": "Space Station Space Station",
        "overview": "A documentary about the international space station",
        "genre": "documentary",
        "year": 2002,
        "tags": ["space"],
        "released": "2002-04-21",
    },
    {
        "id": 7,
        "title": "Amélie",
        "overview": "A shy waitress in Paris changes lives",
        "genre": "romance",
        "year": 2001,
        "tags": [],
        "released": "2001-04-25",
    },
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def settings_for(provider: str, tmp_path: Path) -> dict[str, Any]:
    if provider == "local":
        return {"env": "development", "data_dir": tmp_path / provider}
    return {"env": "test"}


@pytest.fixture(params=["local", "fake"])
async def search_hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[hub.Hub]:
    async with hub.Hub.from_settings(**settings_for(request.param, tmp_path)) as h:
        assert h.search.providers == [request.param]
        yield h


async def movies(h: hub.Hub) -> hub.Hub:
    await h.search.ensure_index(
        "movies", searchable=["title", "overview"], filterable=["genre", "year", "tags", "released"]
    )
    result = await h.search.index("movies", MOVIES)
    assert result.ok
    return h


async def ids(h: hub.Hub, query: str = "", **options: Any) -> list[str]:
    results = await h.search.search("movies", query, limit=100, **options)
    assert results.total == len(results.hits)
    return [hit.id for hit in results.hits]


# -- ranking --------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("space station", "m-6"),
        ("blade runner", "2"),
        ("matrix hacker", "4"),
        ("ALIEN", "1"),
        ("amelie", "7"),
        ("crew", None),
    ],
)
async def test_the_obviously_best_document_ranks_first(
    search_hub: hub.Hub, query: str, best: str | None
) -> None:
    await movies(search_hub)

    results = await search_hub.search.search("movies", query)

    assert results.hits, f"{query!r} found nothing"
    if best is not None:
        assert results.hits[0].id == best
    scores = [hit.score for hit in results.hits]
    assert scores == sorted(scores, reverse=True)
    assert results.provider == search_hub.search.providers[0]


@pytest.mark.anyio
async def test_all_words_must_match(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    assert sorted(await ids(search_hub, "crew")) == ["1", "5"]
    assert await ids(search_hub, "crew thieves") == ["5"]
    assert await ids(search_hub, "crew unicorn") == []


@pytest.mark.anyio
async def test_hits_carry_the_document(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    hit = (await search_hub.search.search("movies", "solaris")).hits[0]
    assert hit.id == "3"
    assert hit.document == MOVIES[2]


# -- filters --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_equality_filter(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    assert await ids(search_hub, filters={"genre": "scifi"}) == ["2", "3", "4"]
    assert await ids(search_hub, "space", filters={"genre": "scifi"}) == ["3"]
    assert await ids(search_hub, filters={"year": 1982}) == ["2"]
    assert await ids(search_hub, filters={"year": "1982"}) == []  # a string is not a number
    assert await ids(search_hub, filters={"tags": "space"}) == ["1", "3", "m-6"]


@pytest.mark.anyio
async def test_any_of_filter(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    assert await ids(search_hub, filters={"genre": ["horror", "crime"]}) == ["1", "5"]
    assert await ids(search_hub, filters={"tags": ["noir", "heist"]}) == ["2", "5"]
    assert await ids(search_hub, filters={"genre": ["western"]}) == []


@pytest.mark.anyio
async def test_range_filters(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    assert await ids(search_hub, filters={"year": {"gte": 1990, "lt": 2000}}) == ["4", "5"]
    assert await ids(search_hub, filters={"year": {"gt": 1995, "lte": 2001}}) == ["4", "7"]
    assert await ids(search_hub, filters={"year": {"lt": 1979}}) == ["3"]
    assert await ids(search_hub, filters={"year": {"lte": 1979}}) == ["1", "3"]
    assert await ids(search_hub, filters={"released": {"gte": "2000-01-01"}}) == ["m-6", "7"]
    # A range compares values of its own kind: no string is "greater than" a number.
    assert await ids(search_hub, filters={"genre": {"gt": 0}}) == []


@pytest.mark.anyio
async def test_filters_combine_with_and(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    found = await ids(search_hub, filters={"genre": ["scifi", "horror"], "year": {"lt": 1980}})
    assert found == ["1", "3"]


@pytest.mark.anyio
async def test_filter_on_a_field_not_declared_filterable(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    with pytest.raises(InvalidRequest, match="'title' is not filterable") as caught:
        await search_hub.search.search("movies", filters={"title": "Heat"})
    assert caught.value.field == "title"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"year": {"between": [1, 2]}}, "range operators"),
        ({"year": {}}, "range operators"),
        ({"genre": []}, "may not be empty"),
        ({"genre": None}, "not a string"),
        ({"year": {"gte": 1990, "lt": "2000"}}, "mix of number and string"),
        ({"year": {"gt": True}}, "numbers or strings"),
        ({"year": float("nan")}, "finite"),
    ],
)
async def test_malformed_filters(search_hub: hub.Hub, filters: Any, message: str) -> None:
    await movies(search_hub)

    with pytest.raises(InvalidRequest, match=message):
        await search_hub.search.search("movies", filters=filters)


@pytest.mark.anyio
async def test_local_and_fake_filter_and_rank_alike(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = [
        {"genre": "scifi"},
        {"tags": "space"},
        {"tags": ["android", "creature"]},
        {"year": {"gte": 1979}},
        {"year": {"gt": 1979.5, "lt": 1999.0}},
        {"released": {"lt": "1980"}},
        {"genre": "scifi", "tags": "space"},
        {"year": 1999.0},
    ]
    queries = ["space", "space station", "crew", "a city", "amelie", "the"]
    found: dict[str, list[Any]] = {}
    for provider in ("local", "fake"):
        async with hub.Hub.from_settings(**settings_for(provider, tmp_path)) as h:
            await movies(h)
            found[provider] = [await ids(h, filters=case) for case in cases]
            for query in queries:
                hits = (await h.search.search("movies", query)).hits
                found[provider].append([(hit.id, round(hit.score, 6)) for hit in hits])
    assert found["local"] == found["fake"]


# -- pagination -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("query", ["report", ""])
async def test_pagination_has_no_duplicates_or_gaps(search_hub: hub.Hub, query: str) -> None:
    await search_hub.search.ensure_index("docs", searchable=["body"])
    documents = [
        {"id": f"d{i:02d}", "body": "report " * (1 + i % 5) + "filler " * (i % 7)}
        for i in range(50)
    ]
    await search_hub.search.index("docs", documents)

    seen: list[str] = []
    for offset in range(0, 50, 7):
        page = await search_hub.search.search("docs", query, limit=7, offset=offset)
        assert page.total == 50
        seen += [hit.id for hit in page.hits]
    assert len(seen) == 50
    assert sorted(seen) == sorted(d["id"] for d in documents)
    past_the_end = await search_hub.search.search("docs", query, offset=50)
    assert past_the_end.hits == []
    assert past_the_end.total == 50


# -- writes ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_delete(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    result = await search_hub.search.delete("movies", [4, "m-6", "nope"])

    assert result.deleted == ["4", "m-6"]
    assert result.missing == ["nope"]
    assert await ids(search_hub, "matrix") == []
    assert await ids(search_hub, "station") == ["3"]
    assert (await search_hub.search.search("movies")).total == len(MOVIES) - 2


@pytest.mark.anyio
async def test_reindexing_updates_in_place(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    changed = {**MOVIES[3], "title": "The Animatrix", "overview": "Nine animated shorts"}
    await search_hub.search.index("movies", [changed])

    assert await ids(search_hub, "hacker") == []
    assert await ids(search_hub, "animatrix") == ["4"]
    everything = await ids(search_hub)
    assert everything == [str(m["id"]) for m in MOVIES], "an upsert keeps one copy, in place"


@pytest.mark.anyio
async def test_ensure_index_can_add_a_searchable_field(search_hub: hub.Hub) -> None:
    await search_hub.search.ensure_index("notes", searchable=["title"])
    await search_hub.search.index("notes", [{"id": 1, "title": "groceries", "body": "milk eggs"}])
    assert (await search_hub.search.search("notes", "milk")).total == 0

    schema = await search_hub.search.ensure_index("notes", searchable=["title", "body"])

    assert schema.searchable == ("title", "body")
    assert [h.id for h in (await search_hub.search.search("notes", "milk")).hits] == ["1"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"title": "no id"}, "document 1 has no 'id'"),
        ({"id": "", "title": "x"}, "may not be empty"),
        ({"id": "  ", "title": "x"}, "may not be empty"),
        ({"id": None}, "string or an integer"),
        ({"id": True}, "string or an integer"),
        ({"id": 1.5}, "string or an integer"),
    ],
)
async def test_documents_need_ids(search_hub: hub.Hub, bad: dict[str, Any], message: str) -> None:
    await search_hub.search.ensure_index("docs", searchable=["title"])

    with pytest.raises(InvalidRequest, match=message) as caught:
        await search_hub.search.index("docs", [{"id": "ok", "title": "fine"}, bad])
    assert caught.value.field is not None
    assert caught.value.field.startswith("documents[1]")
    assert (await search_hub.search.search("docs")).total == 0, "nothing of the batch is indexed"


@pytest.mark.anyio
async def test_custom_primary_key(search_hub: hub.Hub) -> None:
    await search_hub.search.ensure_index("skus", searchable=["name"], primary_key="sku")
    await search_hub.search.index("skus", [{"sku": "A-1", "name": "red shoe"}])

    assert [h.id for h in (await search_hub.search.search("skus", "shoe")).hits] == ["A-1"]


@pytest.mark.anyio
async def test_per_document_results(search_hub: hub.Hub) -> None:
    await search_hub.search.ensure_index("docs", searchable=["title"])

    result = await search_hub.search.index(
        "docs", [{"id": 1, "title": "fine"}, {"id": 2, "title": {"nested": "no"}}, {"id": 3}]
    )

    assert [(r.position, r.id, r.ok) for r in result.results] == [
        (0, "1", True),
        (1, "2", False),
        (2, "3", True),
    ]
    assert not result.ok
    assert result.failed[0].error is not None
    assert "title" in result.failed[0].error
    assert await ids_in(search_hub, "docs") == ["1", "3"]


async def ids_in(h: hub.Hub, index: str) -> list[str]:
    return [hit.id for hit in (await h.search.search(index, limit=100)).hits]


@pytest.mark.anyio
async def test_documents_must_be_json(search_hub: hub.Hub) -> None:
    await search_hub.search.ensure_index("docs", searchable=["title"])

    with pytest.raises(InvalidRequest, match="document 0 is not JSON"):
        await search_hub.search.index("docs", [{"id": 1, "title": object()}])
    with pytest.raises(InvalidRequest, match="not a dict"):
        await search_hub.search.index("docs", ["just a string"])  # type: ignore[list-item]


# -- names and errors -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_unknown_index_is_not_found(search_hub: hub.Hub) -> None:
    with pytest.raises(NotFound, match="ensure_index"):
        await search_hub.search.search("nope", "x")
    with pytest.raises(NotFound):
        await search_hub.search.index("nope", [{"id": 1}])
    with pytest.raises(NotFound):
        await search_hub.search.delete("nope", [1])


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["", "Movies", "-x", "a b", "a" * 65, "x;drop", 'q"'])
async def test_bad_index_names(search_hub: hub.Hub, name: str) -> None:
    with pytest.raises(InvalidRequest, match="index name"):
        await search_hub.search.ensure_index(name, searchable=["title"])
    with pytest.raises(InvalidRequest, match="index name"):
        await search_hub.search.search(name, "x")


@pytest.mark.anyio
async def test_bad_schemas(search_hub: hub.Hub) -> None:
    with pytest.raises(InvalidRequest, match="searchable"):
        await search_hub.search.ensure_index("x", searchable=[])
    with pytest.raises(InvalidRequest, match="list of field names"):
        await search_hub.search.ensure_index("x", searchable="title")
    with pytest.raises(InvalidRequest, match="field name"):
        await search_hub.search.ensure_index("x", searchable=["ti tle"])
    with pytest.raises(InvalidRequest, match="twice"):
        await search_hub.search.ensure_index("x", searchable=["a", "a"])


@pytest.mark.anyio
async def test_bad_paging(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    for limit, offset in ((0, 0), (1001, 0), (20, -1)):
        with pytest.raises(InvalidRequest, match=r"limit|offset"):
            await search_hub.search.search("movies", "x", limit=limit, offset=offset)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "query",
    [
        '"foo',
        "AND",
        "*",
        "NEAR(",
        "space AND",
        "OR space",
        "title:alien",
        "-space",
        "^space",
        'sp"ace',
        "(space",
        "space*",
        "NOT",
        "{title}: x",
        "\x00",
        "'",
        "🚀",
    ],
)
async def test_fts_syntax_in_queries_is_just_words(search_hub: hub.Hub, query: str) -> None:
    await movies(search_hub)

    results = await search_hub.search.search("movies", query)

    expected = tokenize(query)
    for hit in results.hits:
        text = tokenize(f"{hit.document['title']} {hit.document['overview']}")
        assert all(word in text for word in expected)


@pytest.mark.anyio
async def test_special_characters_still_find_the_words(search_hub: hub.Hub) -> None:
    await movies(search_hub)

    assert await ids(search_hub, '"alien') == ["1"]
    assert await ids(search_hub, "alien*") == ["1"]
    assert await ids(search_hub, "NEAR(alien") == []  # 'near' is a word no movie has
    assert await ids(search_hub, "title:alien") == []  # 'title' is a word no movie has


@pytest.mark.anyio
async def test_fake_faults() -> None:
    async with hub.Hub.from_settings(env="test") as h:
        fake = h.search.provider
        assert isinstance(fake, FakeSearchProvider)
        await h.search.ensure_index("x", searchable=["t"])
        fake.fail_next(1, Unavailable("down", provider="fake", retryable=False))
        with pytest.raises(Unavailable, match="down"):
            await h.search.search("x", "a")
        assert (await h.search.search("x", "a")).total == 0
