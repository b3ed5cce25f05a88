"""The Typesense plugin's mapping: collections, JSONL imports, search parameters and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.errors import AuthenticationError, InvalidRequest, NotFound, Unavailable
from hub.http import override_transport
from tests.plugins.typesense.standin import API_KEY, BASE_URL, TypesenseStandIn

pytestmark = pytest.mark.anyio
MakeHub = Callable[..., Hub]
DOCS = [
    {"id": f"d{n}", "title": f"Film {n}", "body": "space opera", "genre": "scifi", "year": 1990 + n}
    for n in range(7)
]


@pytest.fixture
async def typesense(anyio_backend: object) -> AsyncIterator[TypesenseStandIn]:
    standin = TypesenseStandIn()
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
                "provider": "typesense",
                "typesense": {"url": BASE_URL, "api_key": API_KEY, **section},
                "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
            },
        )
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.aclose()


async def films(hub: Hub, **options: Any) -> None:
    await hub.search.ensure_index(
        "films", searchable=["title", "body"], filterable=["genre", "year", "tags"], **options
    )


async def test_the_collection_has_typed_faceted_fields(
    typesense: TypesenseStandIn, make_hub: MakeHub
) -> None:
    await films(make_hub())
    [created] = typesense.bodies("POST", "/collections")
    assert created == {
        "name": "films",
        "fields": [
            {"name": "title", "type": "string*", "facet": False, "optional": True},
            {"name": "body", "type": "string*", "facet": False, "optional": True},
            {"name": "genre", "type": "auto", "facet": True, "optional": True},
            {"name": "year", "type": "auto", "facet": True, "optional": True},
            {"name": "tags", "type": "auto", "facet": True, "optional": True},
        ],
    }
    assert all(r.headers["x-typesense-api-key"] == API_KEY for r in typesense.requests)


async def test_a_changed_schema_patches_the_collection(
    typesense: TypesenseStandIn, make_hub: MakeHub
) -> None:
    await films(make_hub())
    await make_hub().search.ensure_index(
        "films", searchable=["title"], filterable=["genre", "body"]
    )
    [patch] = typesense.bodies("PATCH", "/collections/films")
    assert {"name": "body", "drop": True} in patch["fields"]
    assert {"name": "body", "type": "auto", "facet": True, "optional": True} in patch["fields"]


async def test_imports_are_jsonl_upserts_in_batches_with_per_line_results(
    typesense: TypesenseStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(batch_size=3)
    await films(hub)
    bad = {**DOCS[4], "year": "nineteen ninety"}  # year was detected as int64
    result = await hub.search.index("films", [*DOCS[:4], bad, *DOCS[5:]])
    imports = [r for r in typesense.requests if r.url.path.endswith("/documents/import")]
    assert len(imports) == 3
    assert imports[0].url.params["action"] == "upsert"
    assert imports[0].content.decode().splitlines()[0].startswith('{"id": "d0"')
    assert [r.ok for r in result.results] == [True, True, True, True, False, True, True]
    assert result.results[4].error == "Field `year` must be an int64."


async def test_search_parameters_and_windows_of_250(
    typesense: TypesenseStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub(max_per_request=2)
    await films(hub)
    await hub.search.index("films", DOCS)
    results = await hub.search.search(
        "films",
        "Opera",
        filters={"genre": ["scifi", "x"], "year": {"gte": 1991}},
        limit=3,
        offset=1,
    )
    searches = [r.url.params for r in typesense.requests if r.url.path.endswith("/search")]
    assert [(p["offset"], p["limit"]) for p in searches] == [("1", "2"), ("3", "1")]
    first = searches[0]
    assert first["q"] == "opera"
    assert first["query_by"] == "title,body"
    assert first["filter_by"] == "genre:=[`scifi`, `x`] && year:>=1991"
    assert (first["prefix"], first["num_typos"], first["drop_tokens_threshold"]) == (
        "false",
        "0",
        "0",
    )
    assert results.total == 6
    assert [hit.id for hit in results.hits] == ["d2", "d3", "d4"]
    assert results.hits[0].document == DOCS[2]


async def test_a_backtick_in_a_filter_value_is_refused(
    typesense: TypesenseStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    with pytest.raises(InvalidRequest, match="backtick"):
        await hub.search.search("films", filters={"genre": "a`b"})


async def test_another_primary_key_becomes_the_typesense_id(
    typesense: TypesenseStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await hub.search.ensure_index("skus", searchable=["name"], primary_key="sku")
    result = await hub.search.index(
        "skus", [{"sku": 7, "name": "red shoe"}, {"sku": 8, "name": "boot", "id": "x"}]
    )
    assert [r.ok for r in result.results] == [True, False]
    assert typesense.collections["skus"].documents["7"] == {"sku": 7, "name": "red shoe", "id": "7"}
    [hit] = (await hub.search.search("skus", "shoe")).hits
    assert (hit.id, hit.document) == ("7", {"sku": 7, "name": "red shoe"})


async def test_delete_looks_ids_up_then_deletes_by_filter(
    typesense: TypesenseStandIn, make_hub: MakeHub
) -> None:
    hub = make_hub()
    await films(hub)
    await hub.search.index("films", DOCS)
    result = await hub.search.delete("films", ["d1", "nope", "d2"])
    assert (result.deleted, result.missing) == (["d1", "d2"], ["nope"])
    [deleting] = [r for r in typesense.requests if r.method == "DELETE"]
    assert deleting.url.params["filter_by"] == "id:[`d1`, `d2`]"


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (404, "Not Found", NotFound),
        (
            401,
            "Forbidden - a valid `x-typesense-api-key` header must be sent.",
            AuthenticationError,
        ),
        (400, "Could not find a filter field named `x` in the schema.", InvalidRequest),
        (503, "Not Ready or Lagging", Unavailable),
    ],
)
async def test_documented_errors_map_onto_the_error_tree(
    typesense: TypesenseStandIn,
    make_hub: MakeHub,
    status: int,
    text: str,
    expected: type[Exception],
) -> None:
    typesense.fail_next(status, {"message": text})
    with pytest.raises(expected) as caught:
        await make_hub().search.search("films", "x")
    assert getattr(caught.value, "provider", None) == "typesense"
    assert API_KEY not in str(caught.value)
    if expected is NotFound:
        assert "ensure_index('films'" in str(caught.value)
    else:
        assert text.split(" ")[0] in str(caught.value)
