"""One test, two engines: the same documents indexed and searched through PostgreSQL and
SQLite FTS5 (the local provider), and only the settings change (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core import Hub

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

MOVIES = [
    {
        "id": "m1",
        "title": "The Matrix",
        "overview": "A hacker learns the truth about the matrix and the machines.",
        "genre": "scifi",
        "year": 1999,
        "tags": ["cyberpunk", "classic"],
    },
    {
        "id": "m2",
        "title": "Alien",
        "overview": "The crew of a space freighter meets a deadly alien.",
        "genre": "horror",
        "year": 1979,
        "tags": ["space", "classic"],
    },
    {
        "id": "m3",
        "title": "Arrival",
        "overview": "A linguist talks with visitors from space.",
        "genre": "scifi",
        "year": 2016,
        "tags": ["space"],
    },
    {
        "id": "m4",
        "title": "Heat",
        "overview": "A detective hunts a crew of bank robbers.",
        "genre": "crime",
        "year": 1995,
        "tags": ["classic"],
    },
    {
        "id": "m5",
        "title": "Space Station Blues",
        "overview": "Machines sing on a space station; space is quiet.",
        "genre": "music",
        "year": 2021,
        "tags": ["space", "indie"],
    },
    {
        "id": "m6",
        "title": "Blade Runner",
        "overview": "A hunter of machines in a city of rain.",
        "genre": "scifi",
        "year": 1982,
        "tags": ["cyberpunk"],
    },
]

#: Queries with one obviously best movie; the others tie-break differently per engine.
CLEAR_WINNERS = ("space", "matrix", "space crew")


def settings(provider: str, tmp_path: Path, database_url: str, schema: str) -> dict[str, Any]:
    """The only difference between the two runs."""
    section: dict[str, Any] = {"provider": provider}
    if provider == "postgres":
        # 'simple': words as they are, like FTS5's unicode61 tokenizer (no stemming)
        section["postgres"] = {
            "dsn": database_url,
            "schema": schema,
            "text_search_config": "simple",
        }
    return {"env": "development", "data_dir": tmp_path, "search": section}


async def run(hub: Hub) -> dict[str, Any]:
    """Everything an application would do, and what it would read back."""
    await hub.search.ensure_index(
        "movies", searchable=["title", "overview"], filterable=["genre", "year", "tags"]
    )
    indexed = await hub.search.index("movies", MOVIES)
    seen: dict[str, Any] = {"indexed": [(r.id, r.ok) for r in indexed.results]}
    for query, options in [
        ("space", {}),
        ("machines", {}),
        ("space crew", {}),
        ("matrix", {}),
        ("", {"filters": {"genre": "scifi"}}),
        ("", {"filters": {"year": {"gte": 1980, "lt": 2000}}}),
        ("space", {"filters": {"tags": ["classic", "indie"]}}),
        ("", {"limit": 2, "offset": 4}),
    ]:
        results = await hub.search.search("movies", query, **options)
        ids = [hit.id for hit in results.hits]
        # Without words both list in indexing order; with words each engine ranks its own way
        # (BM25 / ts_rank_cd), so the set is compared and the clear winner separately.
        seen[f"{query!r} {options}"] = (results.total, ids if not query else sorted(ids))
        if query in CLEAR_WINNERS:
            seen[f"best {query!r}"] = ids[0] if ids else None
    await hub.search.index("movies", [{**MOVIES[1], "overview": "Now about a quiet harbor."}])
    await hub.search.delete("movies", ["m4", "missing"])
    after = await hub.search.search("movies", "crew")
    seen["after"] = (after.total, [hit.id for hit in after.hits])
    return seen


async def test_the_same_calls_give_the_same_answers(
    tmp_path: Path, database_url: str, pg_schema: str
) -> None:
    answers = {}
    for provider in ("local", "postgres"):
        config = settings(provider, tmp_path / provider, database_url, pg_schema)
        async with Hub.from_settings(**config) as hub:
            assert hub.search.providers == [provider]
            answers[provider] = await run(hub)
    assert answers["postgres"] == answers["local"]
    local = answers["local"]
    assert local["'space' {}"] == (3, ["m2", "m3", "m5"])
    assert local["best 'space'"] == "m5"  # in the title and twice in the overview
    assert local["'space crew' {}"] == (1, ["m2"])
    assert local["'' {'filters': {'genre': 'scifi'}}"] == (3, ["m1", "m3", "m6"])
    assert local["after"] == (0, [])
