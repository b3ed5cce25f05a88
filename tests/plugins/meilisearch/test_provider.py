"""The Meilisearch plugin's mapping: the exact requests it sends, tasks, batches and errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.errors import (
    AuthenticationError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Timeout,
    UnsupportedFeature,
)
from hub.http import override_transport
from hub.testing.clock import FakeClock
from tests.plugins.meilisearch.standin import API_KEY, BASE_URL, MeilisearchStandIn

pytestmark = pytest.mark.anyio
MakeHub = Callable[..., Hub]
DOCS = [
    {"id": f"d{n}", "title": f"Film {n}", "body": "space opera", "genre": "scifi", "year": 1990 + n}
    for n in range(5)
]


@pytest.fixture
async def meili(anyio_backend: object) -> AsyncIterator[MeilisearchStandIn]:
    standin = MeilisearchStandIn()
    with override_transport(httpx.MockTransport(standin.handle)):
        yield standin


@pytest.fixture
async def make_hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[MakeHub]:
    hubs: list[Hub] = []

    def make(clock: FakeClock | None = None, **section: Any) -> Hub:
        hub = Hub.from_settings(
            env="test",
            data_dir=tmp_path,
            clock=clock,
            search={
                "provider": "meilisearch",
                "meilisearch": {"url": BASE_URL, "api_key": API_KEY, **section},
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
        "films", searchable=["title", "body"], filterable=["genre", "year", "tags"]
    )


async def test_ensure_index_creates_the_index_and_sends_its_settings(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    await films(make_hub())
    assert meili.bodies("POST", "/indexes") == [{"uid": "films", "primaryKey": "id"}]
    [settings] = meili.bodies("PATCH", "/indexes/films/settings")
    assert settings == {
        "searchableAttributes": ["title", "body"],
        "filterableAttributes": ["genre", "year", "tags", "id"],
        "pagination": {"maxTotalHits": 1000},
        "typoTolerance": {"enabled": False},
        "prefixSearch": "disabled",
    }
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in meili.requests)
    await films(make_hub())  # again: index_already_exists is not an error
    assert meili.indexes["films"].settings["searchableAttributes"] == ["title", "body"]


async def test_documents_go_in_batches_and_each_task_is_awaited(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(batch_size=2)
    await films(hub)
    result = await hub.search.index("films", DOCS)
    assert result.ok
    batches = meili.bodies("POST", "/indexes/films/documents")
    assert [[d["id"] for d in batch] for batch in batches] == [["d0", "d1"], ["d2", "d3"], ["d4"]]
    assert all(
        r.url.params["primaryKey"] == "id"
        for r in meili.requests
        if r.url.path.endswith("/documents")
    )
    statuses = [t["status"] for t in result.raw["tasks"]]
    assert statuses == ["succeeded"] * 3
    assert (await hub.search.search("films", "space")).total == 5


async def test_without_waiting_index_returns_the_enqueued_tasks(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(wait_for_tasks=False)
    await films(hub)
    polled = len([r for r in meili.requests if r.url.path.startswith("/tasks/")])
    result = await hub.search.index("films", DOCS)
    assert [t["status"] for t in result.raw["tasks"]] == ["enqueued"]
    assert len([r for r in meili.requests if r.url.path.startswith("/tasks/")]) == polled
    assert (await hub.search.search("films", "space")).total == 0  # not processed yet
    meili.process()
    assert (await hub.search.search("films", "space")).total == 5


async def test_a_task_that_never_finishes_times_out(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    clock = FakeClock()
    hub = make_hub(clock=clock, task_timeout=5)
    await films(hub)
    meili.polls_before_done = 10_000
    clock.sleeps.clear()
    with pytest.raises(Timeout, match="not processed within 5 s") as caught:
        await hub.search.index("films", DOCS[:1])
    assert caught.value.retryable
    assert sum(clock.sleeps) == pytest.approx(5)


async def test_ids_meilisearch_refuses_are_refused_before_sending(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    result = await hub.search.index("films", [DOCS[0], {**DOCS[1], "id": "has space"}])
    assert [(r.id, r.ok) for r in result.results] == [("d0", True), ("has space", False)]
    assert "1-511 letters" in (result.results[1].error or "")
    [sent] = meili.bodies("POST", "/indexes/films/documents")
    assert [d["id"] for d in sent] == ["d0"]


async def test_a_failed_task_fails_the_documents_of_its_batch(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(batch_size=2)
    await films(hub)
    original = meili._add

    def refuse_second_batch(task: dict[str, Any], index: Any, key: Any, docs: Any) -> Any:
        if docs[0]["id"] == "d2":
            return {
                "message": "Document `d2`: too big",
                "code": "invalid_document_fields",
                "type": "invalid_request",
                "link": "https://docs.meilisearch.com/errors",
            }
        return original(task, index, key, docs)

    meili._add = refuse_second_batch  # type: ignore[method-assign]
    result = await hub.search.index("films", DOCS)
    assert [r.ok for r in result.results] == [True, True, False, False, True]
    assert "too big" in (result.results[2].error or "")


async def test_search_sends_words_filters_and_the_covering_page(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    await hub.search.index("films", DOCS)
    results = await hub.search.search(
        "films",
        'Space "opera" -x',
        filters={"genre": 'sci"fi', "year": {"gte": 1990, "lt": 2000}, "tags": ["a", "b"]},
        limit=3,
        offset=5,
    )
    [body] = meili.bodies("POST", "/indexes/films/search")
    assert body == {
        "q": "space opera x",
        "page": 2,  # hits 4..7 hold the wanted 5..7
        "hitsPerPage": 4,
        "matchingStrategy": "all",
        "showRankingScore": True,
        "attributesToHighlight": [],
        "filter": 'genre = "sci\\"fi" AND year >= 1990 AND year < 2000 AND tags IN ["a", "b"]',
    }
    assert results.total == 0


async def test_hits_come_back_as_indexed_with_the_ranking_score(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    await hub.search.index("films", DOCS)
    results = await hub.search.search("films", "film", limit=2, offset=1)
    assert results.total == 5
    assert [hit.id for hit in results.hits] == ["d1", "d2"]
    assert results.hits[0].document == DOCS[1]
    assert 0 < results.hits[0].score <= 1


async def test_a_process_that_only_searches_learns_the_schema(
    meili: MeilisearchStandIn, make_hub: MakeHub
) -> None:
    await films(make_hub())
    await make_hub().search.index("films", DOCS)
    other = make_hub()
    deleted = await other.search.delete("films", ["d1", "zz"])
    assert (deleted.deleted, deleted.missing) == (["d1"], ["zz"])
    [fetch] = meili.bodies("POST", "/indexes/films/documents/fetch")
    assert fetch == {"filter": 'id IN ["d1", "zz"]', "fields": ["id"], "limit": 2}
    assert meili.bodies("POST", "/indexes/films/documents/delete-batch") == [["d1"]]


async def test_string_ranges_are_unsupported(meili: MeilisearchStandIn, make_hub: MakeHub) -> None:
    hub = make_hub()
    await films(hub)
    with pytest.raises(UnsupportedFeature, match="numbers only") as caught:
        await hub.search.search("films", filters={"genre": {"gte": "a"}})
    assert caught.value.failover_safe


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"code": "index_not_found", "type": "invalid_request",
               "message": "Index `films` not found."}, NotFound),
        (403, {"code": "invalid_api_key", "type": "auth",
               "message": "The provided API key is invalid."}, AuthenticationError),
        (401, {"code": "missing_authorization_header", "type": "auth",
               "message": "The Authorization header is missing."}, AuthenticationError),
        (400, {"code": "invalid_search_filter", "type": "invalid_request",
               "message": "Attribute `body` is not filterable."}, InvalidRequest),
    ],
    ids=["index_not_found", "invalid_api_key", "missing_authorization_header",
         "invalid_search_filter"],
)  # fmt: skip
async def test_documented_errors_map_onto_the_error_tree(
    meili: MeilisearchStandIn,
    make_hub: MakeHub,
    status: int,
    body: dict[str, str],
    expected: type[Exception],
) -> None:
    meili.fail_next(status, {**body, "link": "https://docs.meilisearch.com/errors"})
    with pytest.raises(expected) as caught:
        await make_hub().search.search("films", "x")
    error: Any = caught.value
    assert error.provider == "meilisearch"
    assert error.vendor_code == body["code"]
    if expected is NotFound:
        assert "ensure_index('films'" in str(error)
    assert API_KEY not in str(error) + json.dumps(error.raw, default=str)


async def test_rate_limits_carry_retry_after(meili: MeilisearchStandIn, make_hub: MakeHub) -> None:
    meili.fail_next(429, {"message": "Too many requests", "code": "too_many_requests",
                          "type": "system", "link": ""}, headers={"Retry-After": "7"})  # fmt: skip
    with pytest.raises(RateLimited) as caught:
        await make_hub().search.search("films", "x")
    assert caught.value.retry_after == 7
