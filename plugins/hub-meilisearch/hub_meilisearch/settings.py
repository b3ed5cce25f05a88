"""Settings of the Meilisearch provider: ``[search.meilisearch]`` / ``HUB_SEARCH__MEILISEARCH__*``.

Also read from ``MEILISEARCH_URL`` and ``MEILISEARCH_API_KEY``.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from hub.settings import ProviderSettings

__all__ = ["MeilisearchSettings"]


class MeilisearchSettings(ProviderSettings):
    """Where the instance is, its key, and how writes are batched and awaited."""

    url: str = Field("http://127.0.0.1:7700", description="the instance's URL")
    api_key: SecretStr | None = Field(
        None, description="master key or an API key with the index's actions (Bearer token)"
    )
    batch_size: int = Field(1000, ge=1, le=100_000, description="documents per add request")
    wait_for_tasks: bool = Field(
        True, description="index() and delete() return once their tasks succeeded"
    )
    task_timeout: float = Field(30.0, gt=0, description="seconds to wait for one task")
    max_total_hits: int = Field(
        1000, ge=1, description="pagination.maxTotalHits: the deepest offset + limit served"
    )
    exact_words: bool = Field(
        True,
        description="turn typo tolerance and prefix search off, so words match exactly as in "
        "every other provider (prefixSearch needs Meilisearch 1.12+)",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as 'http://127.0.0.1:7700'")
        return value
