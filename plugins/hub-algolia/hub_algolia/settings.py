"""Settings of the Algolia provider: ``[search.algolia]`` / ``HUB_SEARCH__ALGOLIA__*``.

Also read from ``ALGOLIA_APP_ID`` and ``ALGOLIA_API_KEY``.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from hub.settings import ProviderSettings

__all__ = ["AlgoliaSettings"]


class AlgoliaSettings(ProviderSettings):
    """The application, its key, and how writes are batched and awaited."""

    app_id: str = Field(..., description="Application ID (dashboard → API keys)")
    api_key: SecretStr = Field(..., description="Write API key (or the admin key)")
    base_url: str | None = Field(
        None,
        description="the API host; default https://{app_id}.algolia.net (the retry hosts "
        "{app_id}-1/2/3.algolianet.com are not tried)",
    )
    batch_size: int = Field(1000, ge=1, le=100_000, description="records per batch request")
    wait_for_tasks: bool = Field(
        True, description="index() and delete() return once their tasks are published"
    )
    task_timeout: float = Field(30.0, gt=0, description="seconds to wait for one task")
    max_hits: int = Field(
        1000, ge=1, le=20_000, description="paginationLimitedTo: the deepest offset + limit served"
    )

    @field_validator("app_id")
    @classmethod
    def _app(cls, value: str) -> str:
        value = value.strip()
        if not value.isalnum():
            raise ValueError("must be the Application ID, letters and digits like 'LATENCY'")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as 'https://LATENCY.algolia.net'")
        return value

    def api_url(self) -> str:
        return self.base_url or f"https://{self.app_id}.algolia.net"
