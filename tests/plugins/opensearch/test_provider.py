"""The OpenSearch plugin's mapping: the index mapping, _bulk lines and items, the query DSL,
and the documented error bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.errors import AuthenticationError, InvalidRequest, NotFound, RateLimited
from hub.http import override_transport
from tests.plugins.opensearch.standin import BASE_URL, PASSWORD, USERNAME, OpenSearchStandIn

pytestmark = pytest.mark.anyio
MakeHub = Callable[..., Hub]
DOCS = [
    {"id": f"d{n}", "title": f"Film {n}", "body": "space opera", "genre": "scifi", "year": 1990 + n}
    for n in range(5)
]


@pytest.fixture
async def opensearch(anyio_backend: object) -> AsyncIterator[OpenSearchStandIn]:
    standin = OpenSearchStandIn()
    with override_transport(httpx.MockTransport(standin.handle)):
        yield standin


@pytest.fixture
async def make_hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[MakeHub]:
    hubs: list[Hub] = []

    def make(provider: str = "opensearch", **section: Any) -> Hub:
        hub = Hub.from_settings(
            env="test",
            data_dir=tmp_path,
            search={
                "provider": provider,
                provider: {"url": BASE_URL, "username": USERNAME, "password": PASSWORD, **section},
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
        "films", searchable=["title", "body"], filterable=["genre", "year", "title"]
    )


async def test_the_index_maps_text_keywords_and_keeps_the_hub_schema(
    opensearch: OpenSearchStandIn, make_hub: MakeHub
) -> None:
    await films(make_hub())
    [created] = opensearch.bodies("PUT", "/films")
    mappings = created["mappings"]
    assert mappings["properties"] == {
        "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "body": {"type": "text"},
        "id": {"type": "keyword"},
    }
    assert mappings["dynamic_templates"][0]["hub_strings"]["mapping"] == {"type": "keyword"}
    assert mappings["_meta"]["hub"]["filterable"] == ["genre", "year", "title"]
    await films(make_hub())  # exists: the mapping is updated instead
    assert opensearch.bodies("PUT", "/films/_mapping")[0]["properties"] == mappings["properties"]


async def test_bulk_lines_refresh_and_per_item_results(
    opensearch: OpenSearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(batch_size=2)
    await films(hub)
    result = await hub.search.index("films", [*DOCS[:3], {**DOCS[3], "year": "late"}])
    bulks = [r for r in opensearch.requests if r.url.path == "/_bulk"]
    assert len(bulks) == 2
    assert bulks[0].url.params["refresh"] == "wait_for"
    assert bulks[0].headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in bulks[0].content.decode().splitlines()]
    assert lines == [{"index": {"_index": "films", "_id": "d0"}}, DOCS[0],
                     {"index": {"_index": "films", "_id": "d1"}}, DOCS[1]]  # fmt: skip
    assert bulks[0].content.endswith(b"\n")
    assert [r.ok for r in result.results] == [True, True, True, False]
    assert "mapper_parsing_exception" in (result.results[3].error or "")


async def test_without_waiting_bulk_does_not_refresh(
    opensearch: OpenSearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(wait_for_tasks=False)
    await films(hub)
    await hub.search.index("films", DOCS)
    assert opensearch.requests[-1].url.params["refresh"] == "false"
    assert (await hub.search.search("films", "opera")).total == 0
    opensearch.refresh()
    assert (await hub.search.search("films", "opera")).total == 5


async def test_the_query_dsl(opensearch: OpenSearchStandIn, make_hub: MakeHub) -> None:
    hub = make_hub()
    await films(hub)
    await hub.search.index("films", DOCS)
    results = await hub.search.search(
        "films",
        "Space OPERA",
        filters={
            "genre": "scifi",
            "year": {"gte": 1991, "lt": 1994},
            "title": ["Film 2", "Film 3"],
        },
        limit=1,
        offset=1,
    )
    [body] = opensearch.bodies("POST", "/films/_search")
    assert body == {
        "query": {
            "bool": {
                "must": [
                    {
                        "multi_match": {
                            "query": "space opera",
                            "fields": ["title", "body"],
                            "type": "cross_fields",
                            "operator": "and",
                        }
                    }
                ],
                "filter": [
                    {"term": {"genre": "scifi"}},
                    {"range": {"year": {"gte": 1991, "lt": 1994}}},
                    {"terms": {"title.raw": ["Film 2", "Film 3"]}},
                ],
            }
        },
        "from": 1,
        "size": 1,
        "track_total_hits": True,
        "track_scores": True,
        "sort": [
            {"_score": {"order": "desc"}},
            {"id": {"order": "asc", "unmapped_type": "keyword"}},
        ],
    }
    assert results.total == 2
    assert [hit.id for hit in results.hits] == ["d3"]
    assert results.hits[0].document == DOCS[3]


async def test_delete_reads_not_found_items_as_missing(
    opensearch: OpenSearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    await hub.search.index("films", DOCS)
    result = await hub.search.delete("films", ["d1", "nope"])
    assert (result.deleted, result.missing) == (["d1"], ["nope"])
    lines = opensearch.requests[-1].content.decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"delete": {"_index": "films", "_id": "d1"}},
        {"delete": {"_index": "films", "_id": "nope"}},
    ]


async def test_elasticsearch_is_the_same_provider_under_its_own_name(
    opensearch: OpenSearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub("elasticsearch")
    await films(hub)
    await hub.search.index("films", DOCS[:2])
    results = await hub.search.search("films", "film")
    assert (results.provider, results.total) == ("elasticsearch", 2)


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (404, "index_not_found_exception", NotFound),
        (401, "security_exception", AuthenticationError),
        (429, "es_rejected_execution_exception", RateLimited),
        (400, "parsing_exception", InvalidRequest),
    ],
)
async def test_documented_errors_map_onto_the_error_tree(
    opensearch: OpenSearchStandIn,
    make_hub: MakeHub,
    status: int,
    kind: str,
    expected: type[Exception],
) -> None:
    cause = {"type": kind, "reason": f"reason of {kind}", "index": "films"}
    opensearch.fail_next(status, {"error": {"root_cause": [cause], **cause}, "status": status})
    with pytest.raises(expected) as caught:
        await make_hub().search.search("films", "x")
    error: Any = caught.value
    assert error.provider == "opensearch"
    assert error.vendor_code == kind
    assert PASSWORD not in str(error)
    if expected is not NotFound:
        assert f"reason of {kind}" in str(error)
