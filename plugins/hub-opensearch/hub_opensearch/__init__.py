"""``hub-opensearch``: OpenSearch and Elasticsearch for the hub (hooks only; nothing heavy)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_opensearch"
_FEATURES = frozenset({"filters", "range_filters", "scores", "async_tasks"})
_ENV = {
    "url": "OPENSEARCH_URL",
    "username": "OPENSEARCH_USERNAME",
    "password": "OPENSEARCH_PASSWORD",
    "api_key": "OPENSEARCH_API_KEY",
}


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "search",
            "opensearch",
            f"{_M}.provider:OpenSearchProvider",
            f"{_M}.settings:OpenSearchSettings",
            features=_FEATURES,
            env_vars=_ENV,
            description="OpenSearch: mappings, bulk writes with refresh, bool queries with filters",
            docs_url="https://opensearch.org/docs/latest/api-reference/",
        ),
        ProviderSpec(
            "search",
            "elasticsearch",
            f"{_M}.provider:OpenSearchProvider",
            f"{_M}.settings:ElasticsearchSettings",
            features=_FEATURES,
            env_vars={
                "url": "ELASTICSEARCH_URL",
                "username": "ELASTICSEARCH_USERNAME",
                "password": "ELASTICSEARCH_PASSWORD",
                "api_key": "ELASTICSEARCH_API_KEY",
            },
            description="Elasticsearch: mappings, bulk writes with refresh, bool queries with "
            "filters",
            docs_url="https://www.elastic.co/docs/api/doc/elasticsearch/",
        ),
    ]
