"""The search plugins as a user meets them: listed by `hub plugins`, and `hub search index` then
`hub search query` in separate processes on every provider — PostgreSQL on the real server,
the HTTP vendors on their stand-ins served on 127.0.0.1 (``hub.testing.stub_server``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.testing.stub_server import serve
from tests.plugins.algolia import standin as algolia
from tests.plugins.meilisearch import standin as meilisearch
from tests.plugins.opensearch import standin as opensearch
from tests.plugins.search.engine import StandIn
from tests.plugins.typesense import standin as typesense

PLUGINS = {
    "postgres": ("hub-postgres", ["postgres"], {"dsn": "DATABASE_URL"}),
    "meilisearch": ("hub-meilisearch", ["meilisearch"], {"api_key": "MEILISEARCH_API_KEY"}),
    "typesense": ("hub-typesense", ["typesense"], {"api_key": "TYPESENSE_API_KEY"}),
    "algolia": ("hub-algolia", ["algolia"], {"app_id": "ALGOLIA_APP_ID"}),
    "opensearch": ("hub-opensearch", ["elasticsearch", "opensearch"], {"url": "OPENSEARCH_URL"}),
}
FILMS = [
    {"id": "f1", "title": "Space Odyssey", "genre": "scifi"},
    {"id": "f2", "title": "Arrival in space", "genre": "scifi"},
    {"id": "f3", "title": "Space Jam", "genre": "family"},
]


@pytest.mark.parametrize("plugin", list(PLUGINS))
def test_hub_plugins_lists_the_search_plugin(plugin: str) -> None:
    distribution, providers, env = PLUGINS[plugin]
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    [record] = [p for p in data["plugins"] if p["name"] == plugin]
    assert record["status"] == "ok", record["error"]
    assert record["distribution"] == distribution
    specs = [p for p in data["providers"] if p["capability"] == "search" and p["name"] in providers]
    assert sorted(p["name"] for p in specs) == providers
    for spec in specs:
        assert {"filters", "range_filters", "scores"} <= set(spec["features"])
    field, variable = next(iter(env.items()))
    assert specs[-1]["env_vars"][field] == variable


def environment(provider: str, base_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "MEILISEARCH_", "TYPESENSE_", "ALGOLIA_", "OPENSEARCH_"))
    }
    env.update(HUB_ENV="development", HUB_DATA_DIR=str(tmp_path / ".hub"), NO_PROXY="127.0.0.1")
    env.update(
        {
            "meilisearch": {
                "MEILISEARCH_URL": base_url,
                "MEILISEARCH_API_KEY": meilisearch.API_KEY,
            },
            "typesense": {"TYPESENSE_URL": base_url, "TYPESENSE_API_KEY": typesense.API_KEY},
            "algolia": {
                "ALGOLIA_APP_ID": algolia.APP_ID,
                "ALGOLIA_API_KEY": algolia.API_KEY,
                "HUB_SEARCH__ALGOLIA__BASE_URL": base_url,
            },
            "opensearch": {
                "OPENSEARCH_URL": base_url,
                "OPENSEARCH_USERNAME": opensearch.USERNAME,
                "OPENSEARCH_PASSWORD": opensearch.PASSWORD,
            },
        }.get(provider, {})
    )
    return env


def hub_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        cwd=cwd,
        timeout=120,
    )


def index_then_query(provider: str, env: dict[str, str], tmp_path: Path) -> str:
    data = tmp_path / "films.jsonl"
    data.write_text("\n".join(json.dumps(f) for f in FILMS))
    indexed = hub_cli(
        "search", "index", "films", str(data), "--searchable", "title",
        "--filterable", "genre", "--provider", provider, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    receipt = json.loads(indexed.stdout)
    assert receipt["provider"] == provider
    assert [(r["id"], r["ok"]) for r in receipt["results"]] == [
        ("f1", True),
        ("f2", True),
        ("f3", True),
    ]
    found = hub_cli(
        "search", "query", "films", "space", "--filter", "genre=scifi", "--provider", provider,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert f"2 hit(s) from {provider}" in found.stdout
    assert "f1" in found.stdout
    assert "f2" in found.stdout
    assert "f3" not in found.stdout
    return indexed.stdout + indexed.stderr + found.stdout + found.stderr


STANDINS: dict[str, type[StandIn]] = {
    "meilisearch": meilisearch.MeilisearchStandIn,
    "typesense": typesense.TypesenseStandIn,
    "algolia": algolia.AlgoliaStandIn,
    "opensearch": opensearch.OpenSearchStandIn,
}


@pytest.mark.parametrize("provider", list(STANDINS))
def test_hub_search_index_and_query_on_a_vendor(
    provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    standin = STANDINS[provider]()
    with serve(standin.handle) as base_url:
        output = index_then_query(provider, environment(provider, base_url, tmp_path), tmp_path)
    secrets = (meilisearch.API_KEY, typesense.API_KEY, algolia.API_KEY, opensearch.PASSWORD)
    assert not any(secret in output for secret in secrets)
    assert standin.requests, "the CLI reached the stand-in"


@pytest.mark.postgres
def test_hub_search_index_and_query_on_postgres(
    tmp_path: Path, database_url: str, pg_schema: str
) -> None:
    env = environment("postgres", "", tmp_path)
    env.update(DATABASE_URL=database_url, HUB_SEARCH__POSTGRES__SCHEMA=pg_schema)
    index_then_query("postgres", env, tmp_path)
