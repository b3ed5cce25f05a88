"""``hub-algolia``: Algolia for the integration hub (hooks only; nothing heavy imported)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_algolia"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "search",
            "algolia",
            f"{_M}.provider:AlgoliaProvider",
            f"{_M}.settings:AlgoliaSettings",
            features=frozenset({"filters", "range_filters", "scores", "async_tasks"}),
            env_vars={"app_id": "ALGOLIA_APP_ID", "api_key": "ALGOLIA_API_KEY"},
            description="Algolia: index settings, batch writes with awaited tasks, filters, "
            "ranking information",
            docs_url="https://www.algolia.com/doc/rest-api/search/",
        )
    ]
