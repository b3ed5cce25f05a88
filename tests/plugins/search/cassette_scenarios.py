"""The search vendors' cassettes: one scenario, recorded per vendor from its stand-in.

``cassettes/<vendor>/index_search_delete.json`` holds what the plugin sends for: create the
index, index three films, search ``space`` with an equality and a range filter, delete one id
that exists and one that does not. Each was recorded through
:class:`hub.testing.cassettes.CassetteTransport` with the vendor's documented-behaviour
stand-in (``tests/plugins/<vendor>/standin.py``) as the network and the vendor's real URL
shape, so the cassette holds exactly the requests the plugin builds and the documented answers.
Rebuild them with::

    uv run python -m tests.plugins.search.cassette_scenarios

To record against a real service instead, delete a cassette and run its test with
``HUB_RECORD_MODE=once`` and the vendor's variables set (``MEILISEARCH_URL`` +
``MEILISEARCH_API_KEY``, ``TYPESENSE_URL`` + ``TYPESENSE_API_KEY``, ``ALGOLIA_APP_ID`` +
``ALGOLIA_API_KEY``, ``OPENSEARCH_URL`` + ``OPENSEARCH_USERNAME`` + ``OPENSEARCH_PASSWORD``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from hub.capabilities.search import DeleteResult, IndexResult, SearchResults
from hub.core import Hub
from hub.http import override_transport
from hub.testing.cassettes import CassetteTransport
from tests.plugins.algolia import standin as algolia
from tests.plugins.meilisearch import standin as meilisearch
from tests.plugins.opensearch import standin as opensearch
from tests.plugins.search.engine import StandIn
from tests.plugins.typesense import standin as typesense

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes"
NAME = "index_search_delete"
FILMS = [
    {"id": "f1", "title": "Space Odyssey", "overview": "A voyage to Jupiter.", "genre": "scifi",
     "year": 1968},
    {"id": "f2", "title": "Arrival", "overview": "Visitors from space.", "genre": "scifi",
     "year": 2016},
    {"id": "f3", "title": "Space Jam", "overview": "Basketball in space.", "genre": "family",
     "year": 1996},
]  # fmt: skip


@dataclass(frozen=True)
class Vendor:
    section: Callable[[], dict[str, Any]]
    standin: Callable[[], StandIn]


VENDORS: dict[str, Vendor] = {
    "meilisearch": Vendor(
        lambda: {
            "url": os.environ.get("MEILISEARCH_URL", meilisearch.BASE_URL),
            "api_key": os.environ.get("MEILISEARCH_API_KEY", meilisearch.API_KEY),
        },
        meilisearch.MeilisearchStandIn,
    ),
    "typesense": Vendor(
        lambda: {
            "url": os.environ.get("TYPESENSE_URL", typesense.BASE_URL),
            "api_key": os.environ.get("TYPESENSE_API_KEY", typesense.API_KEY),
        },
        typesense.TypesenseStandIn,
    ),
    "algolia": Vendor(
        lambda: {
            "app_id": os.environ.get("ALGOLIA_APP_ID", algolia.APP_ID),
            "api_key": os.environ.get("ALGOLIA_API_KEY", algolia.API_KEY),
        },
        algolia.AlgoliaStandIn,
    ),
    "opensearch": Vendor(
        lambda: {
            "url": os.environ.get("OPENSEARCH_URL", opensearch.BASE_URL),
            "username": os.environ.get("OPENSEARCH_USERNAME", opensearch.USERNAME),
            "password": os.environ.get("OPENSEARCH_PASSWORD", opensearch.PASSWORD),
        },
        opensearch.OpenSearchStandIn,
    ),
}


def make_hub(vendor: str, data_dir: Path) -> Hub:
    return Hub.from_settings(
        env="test",
        data_dir=data_dir,
        state={"url": "memory://"},
        search={
            "provider": vendor,
            vendor: VENDORS[vendor].section(),
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        },
    )


@dataclass(frozen=True)
class Outcome:
    indexed: IndexResult
    found: SearchResults
    deleted: DeleteResult


async def run(hub: Hub) -> Outcome:
    """The scenario every cassette records."""
    await hub.search.ensure_index(
        "films", searchable=["title", "overview"], filterable=["genre", "year"]
    )
    indexed = await hub.search.index("films", FILMS)
    found = await hub.search.search(
        "films", "space", filters={"genre": "scifi", "year": {"gte": 1960}}, limit=5
    )
    deleted = await hub.search.delete("films", ["f2", "gone"])
    return Outcome(indexed, found, deleted)


async def record(vendor: str, data_dir: Path) -> None:
    standin = VENDORS[vendor].standin()
    path = CASSETTES / vendor / f"{NAME}.json"
    path.unlink(missing_ok=True)
    cassette = CassetteTransport(path, mode="once", inner=httpx.MockTransport(standin.handle))
    with override_transport(cassette):
        async with make_hub(vendor, data_dir) as hub:
            await run(hub)
    await cassette.aclose()
    print(f"wrote {path}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for vendor in VENDORS:
            await record(vendor, Path(tmp))


if __name__ == "__main__":
    anyio.run(main)


def check(outcome: Outcome, provider: str) -> None:
    """What the scenario must give on every vendor."""
    assert outcome.indexed.ok
    assert [r.id for r in outcome.indexed.results] == ["f1", "f2", "f3"]
    assert outcome.found.provider == provider
    assert outcome.found.total == 2
    assert {hit.id for hit in outcome.found.hits} == {"f1", "f2"}
    by_id = {film["id"]: film for film in FILMS}
    assert all(hit.document == by_id[hit.id] for hit in outcome.found.hits)
    scores = [hit.score for hit in outcome.found.hits]
    assert scores == sorted(scores, reverse=True)
    assert outcome.deleted.deleted == ["f2"]
    assert outcome.deleted.missing == ["gone"]
