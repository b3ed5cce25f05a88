"""``hub-meilisearch``: Meilisearch for the integration hub (hooks only; nothing heavy imported)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_meilisearch"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "search",
            "meilisearch",
            f"{_M}.provider:MeilisearchProvider",
            f"{_M}.settings:MeilisearchSettings",
            features=frozenset({"filters", "range_filters", "scores", "async_tasks"}),
            env_vars={"url": "MEILISEARCH_URL", "api_key": "MEILISEARCH_API_KEY"},
            description="Meilisearch: index settings, batched documents with awaited tasks, "
            "filters, ranking scores",
            docs_url="https://www.meilisearch.com/docs/reference/api/overview",
        )
    ]
