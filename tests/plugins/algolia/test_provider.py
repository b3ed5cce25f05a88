"""The Algolia plugin's mapping: settings, batches with tasks, queries, deletes and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.errors import AuthenticationError, InvalidRequest, NotFound, RateLimited
from hub.http import override_transport
from tests.plugins.algolia.standin import API_KEY, APP_ID, AlgoliaStandIn

pytestmark = pytest.mark.anyio
MakeHub = Callable[..., Hub]
DOCS = [
    {"id": f"d{n}", "title": f"Film {n}", "body": "space opera", "genre": "scifi", "year": 1990 + n}
    for n in range(5)
]


@pytest.fixture
async def algolia(anyio_backend: object) -> AsyncIterator[AlgoliaStandIn]:
    standin = AlgoliaStandIn()
    with override_transport(httpx.MockTransport(standin.handle)):
        yield standin


@pytest.fixture
async def make_hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[MakeHub]:
    hubs: list[Hub] = []

    def make(**section: Any) -> Hub:
        hub = Hub.from_settings(
            env="test",
            data_dir=tmp_path,
            search={
                "provider": "algolia",
                "algolia": {"app_id": APP_ID, "api_key": API_KEY, **section},
                "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
            },
        )
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.aclose()


async def films(hub: Hub) -> None:
    await hub.search.ensure_index(
        "films", searchable=["title", "body"], filterable=["genre", "year", "flag"]
    )


async def test_settings_declare_fields_exact_words_and_the_hub_schema(
    algolia: AlgoliaStandIn, make_hub: MakeHub
) -> None:
    await films(make_hub())
    [settings] = algolia.bodies("PUT", "/1/indexes/films/settings")
    assert settings["searchableAttributes"] == ["title", "body"]
    assert settings["attributesForFaceting"] == [
        "filterOnly(genre)",
        "filterOnly(year)",
        "filterOnly(flag)",
    ]
    assert (settings["typoTolerance"], settings["queryType"]) == (False, "prefixNone")
    assert settings["userData"]["hub"]["primary_key"] == "id"
    request = algolia.requests[0]
    assert request.url.host == f"{APP_ID.lower()}.algolia.net"
    assert request.headers["x-algolia-application-id"] == APP_ID
    assert request.headers["x-algolia-api-key"] == API_KEY
    assert any(r.url.path == "/1/indexes/films/task/1000" for r in algolia.requests)


async def test_records_are_batched_with_object_ids_and_tasks_awaited(
    algolia: AlgoliaStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(batch_size=2)
    await films(hub)
    result = await hub.search.index("films", DOCS)
    batches = algolia.bodies("POST", "/1/indexes/films/batch")
    assert len(batches) == 3
    first = batches[0]["requests"][0]
    assert first == {"action": "updateObject", "body": {**DOCS[0], "objectID": "d0"}}
    assert result.ok
    assert len(result.raw["tasks"]) == 3
    assert (await make_hub().search.search("films", "opera")).total == 5


async def test_a_refused_batch_marks_its_documents(
    algolia: AlgoliaStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(batch_size=2)
    await films(hub)
    huge = {**DOCS[2], "body": "word " * 3000}
    result = await hub.search.index("films", [DOCS[0], DOCS[1], huge, DOCS[3]])
    assert [r.ok for r in result.results] == [True, True, False, False]
    assert "too big" in (result.results[2].error or "")


async def test_queries_use_offset_length_filters_and_rank_as_score(
    algolia: AlgoliaStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    await hub.search.index("films", [*DOCS, {"id": "x", "title": "Film x", "flag": True}])
    results = await hub.search.search(
        "films", "FILM!", filters={"genre": ["scifi", 'a"b'], "year": {"gt": 1990, "lte": 1993}},
        limit=2, offset=1,
    )  # fmt: skip
    [query] = algolia.bodies("POST", "/1/indexes/films/query")
    assert query == {
        "query": "film",
        "getRankingInfo": True,
        "attributesToHighlight": [],
        "attributesToSnippet": [],
        "analytics": False,
        "filters": '(genre:"scifi" OR genre:"a\\"b") AND year > 1990 AND year <= 1993',
        "offset": 1,
        "length": 2,
    }
    assert results.total == 3
    assert [hit.id for hit in results.hits] == ["d2", "d3"]
    assert results.hits[0].document == DOCS[2]  # objectID and _rankingInfo left out
    assert results.hits[0].score > results.hits[1].score
    flagged = await hub.search.search("films", filters={"flag": True})
    assert [hit.id for hit in flagged.hits] == ["x"]


async def test_filters_on_undeclared_fields_are_refused_here(
    algolia: AlgoliaStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    with pytest.raises(InvalidRequest, match="not filterable"):
        await hub.search.search("films", filters={"body": "x"})


async def test_deep_pages_beyond_the_pagination_limit_are_refused(
    algolia: AlgoliaStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(max_hits=100)
    await films(hub)
    with pytest.raises(InvalidRequest, match="max_hits"):
        await hub.search.search("films", limit=50, offset=60)


async def test_delete_reads_records_then_deletes_those_that_exist(
    algolia: AlgoliaStandIn, make_hub: MakeHub
) -> None:
    await films(make_hub())
    await make_hub().search.index("films", DOCS)
    result = await make_hub().search.delete("films", ["d0", "nope"])
    assert (result.deleted, result.missing) == (["d0"], ["nope"])
    [lookup] = algolia.bodies("POST", "/1/indexes/*/objects")
    assert lookup["requests"][1] == {
        "indexName": "films",
        "objectID": "nope",
        "attributesToRetrieve": ["objectID"],
    }
    deletes = algolia.bodies("POST", "/1/indexes/films/batch")[-1]
    assert deletes == {"requests": [{"action": "deleteObject", "body": {"objectID": "d0"}}]}


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (404, "Index does not exist", NotFound),
        (403, "Invalid Application-ID or API key", AuthenticationError),
        (429, "Too many requests", RateLimited),
        (400, "Invalid syntax for filter", InvalidRequest),
    ],
)
async def test_documented_errors_map_onto_the_error_tree(
    algolia: AlgoliaStandIn, make_hub: MakeHub, status: int, text: str, expected: type[Exception]
) -> None:
    algolia.fail_next(status, {"message": text, "status": status})
    with pytest.raises(expected) as caught:
        await make_hub().search.search("films", "x")
    assert getattr(caught.value, "provider", None) == "algolia"
    assert API_KEY not in str(caught.value)
