"""Settings of the OpenSearch / Elasticsearch provider: ``[search.opensearch]`` or
``[search.elasticsearch]`` (``HUB_SEARCH__OPENSEARCH__*`` / ``HUB_SEARCH__ELASTICSEARCH__*``).

Also read from ``OPENSEARCH_URL`` / ``OPENSEARCH_USERNAME`` / ``OPENSEARCH_PASSWORD`` /
``OPENSEARCH_API_KEY`` (and the ``ELASTICSEARCH_*`` ones for ``elasticsearch``).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from hub.settings import ProviderSettings

__all__ = ["ElasticsearchSettings", "OpenSearchSettings"]


class OpenSearchSettings(ProviderSettings):
    """The cluster, its credentials, and how writes are batched and made visible."""

    url: str = Field("http://127.0.0.1:9200", description="the cluster's URL")
    username: str | None = Field(None, description="basic-auth user")
    password: SecretStr | None = Field(None, description="basic-auth password")
    api_key: SecretStr | None = Field(
        None, description="API key, sent as 'Authorization: ApiKey <key>' (base64 id:key)"
    )
    flavor: Literal["opensearch", "elasticsearch"] = Field(
        "opensearch", description="which product answers (the API calls used are the same)"
    )
    batch_size: int = Field(500, ge=1, le=100_000, description="documents per _bulk request")
    wait_for_tasks: bool = Field(
        True,
        description="index() and delete() pass refresh=wait_for, so changes are searchable "
        "when they return; false passes refresh=false",
    )
    max_result_window: int = Field(
        10_000, ge=1, description="index.max_result_window: the deepest offset + limit served"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as 'https://localhost:9200'")
        return value

    @model_validator(mode="after")
    def _auth(self) -> Self:
        if self.api_key is not None and (self.username or self.password):
            raise ValueError("set api_key or username/password, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("basic auth needs both username and password")
        return self


class ElasticsearchSettings(OpenSearchSettings):
    flavor: Literal["opensearch", "elasticsearch"] = "elasticsearch"
