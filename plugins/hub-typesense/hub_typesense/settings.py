"""Settings of the Typesense provider: ``[search.typesense]`` / ``HUB_SEARCH__TYPESENSE__*``.

Also read from ``TYPESENSE_URL`` and ``TYPESENSE_API_KEY``.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from hub.settings import ProviderSettings

__all__ = ["TypesenseSettings"]


class TypesenseSettings(ProviderSettings):
    """Where the node (or the cluster's load balancer) is, its key, and batch sizes."""

    url: str = Field("http://127.0.0.1:8108", description="the node's URL")
    api_key: SecretStr | None = Field(None, description="admin key or a scoped key (header)")
    batch_size: int = Field(1000, ge=1, le=100_000, description="documents per import request")
    max_per_request: int = Field(
        250, ge=1, le=250, description="hits per search request (Typesense serves at most 250)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as 'http://127.0.0.1:8108'")
        return value
