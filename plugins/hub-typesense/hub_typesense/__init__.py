"""``hub-typesense``: Typesense for the integration hub (hooks only; nothing heavy imported)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_typesense"


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "search",
            "typesense",
            f"{_M}.provider:TypesenseProvider",
            f"{_M}.settings:TypesenseSettings",
            features=frozenset({"filters", "range_filters", "scores"}),
            env_vars={"url": "TYPESENSE_URL", "api_key": "TYPESENSE_API_KEY"},
            description="Typesense: typed collections, JSONL upserts with per-document results, "
            "filter_by, text_match",
            docs_url="https://typesense.org/docs/latest/api/",
        )
    ]
