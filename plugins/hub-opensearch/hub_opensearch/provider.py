"""OpenSearch and Elasticsearch over their REST APIs, on :class:`hub.http.HttpProvider`.

One provider class serves both (registered as ``opensearch`` and ``elasticsearch``): the calls
used here — ``PUT /{index}``, ``PUT /{index}/_mapping``, ``GET /{index}/_mapping``,
``POST /_bulk``, ``POST /{index}/_search`` — have the same paths and bodies in both. Writes go
through ``_bulk`` with ``refresh=wait_for`` so they are searchable when ``index`` returns
(``wait_for_tasks = false`` sends ``refresh=false``); every bulk item has its own status, which
becomes the per-document result (``delete`` reads ``not_found`` as missing). Errors are
``{"error": {"type", "reason", ...}, "status"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from hub.capabilities._filters import Condition, check_filterable
from hub.capabilities._search_vendor import (
    SchemaCache,
    chunked,
    delete_result,
    index_in_batches,
    index_result,
    missing_index,
    prepare_documents,
    query_words,
)
from hub.capabilities.search import DeleteResult, Hit, IndexResult, IndexSchema, SearchResults
from hub.errors import HubError, InvalidRequest, NotFound, ProviderError
from hub.http import HttpProvider
from hub_opensearch.mapping import bulk_body, index_body, mappings, schema_from, search_body
from hub_opensearch.settings import OpenSearchSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["OpenSearchProvider"]

_NDJSON = {"Content-Type": "application/x-ndjson"}


class OpenSearchProvider(HttpProvider):
    """The ``opensearch`` and ``elasticsearch`` search providers."""

    idempotency_header = None  # documents are written by _id: repeating is harmless

    def __init__(self, settings: OpenSearchSettings, context: ProviderContext) -> None:
        headers: dict[str, str] = {}
        auth: tuple[str, str] | None = None
        secrets: list[str] = []
        if settings.api_key is not None:
            key = settings.api_key.get_secret_value()
            headers["Authorization"] = f"ApiKey {key}"
            secrets.append(key)
        elif settings.username is not None and settings.password is not None:
            auth = (settings.username, settings.password.get_secret_value())
        super().__init__(
            context, base_url=settings.url, headers=headers or None, auth=auth, secrets=secrets
        )
        self.settings = settings
        self.schemas = SchemaCache()

    # -- the provider protocol -------------------------------------------------------------

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema:
        created = await self.request(
            "PUT", f"/{schema.name}", json=index_body(schema), expected=(200, 201, 400)
        )
        if created.status_code == 400:
            if self.vendor_code(created) != "resource_already_exists_exception":
                raise self.error_for(created)
            await self.request("PUT", f"/{schema.name}/_mapping", json=mappings(schema))
        return self.schemas.remember(schema)

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult:
        schema = await self.schemas.get(name, self._load_schema)
        prepared = prepare_documents(documents, schema)

        async def send(batch: list[int]) -> Mapping[int, str]:
            lines: list[Mapping[str, Any]] = []
            for position in batch:
                lines.append({"index": {"_index": name, "_id": prepared.ids[position]}})
                lines.append(documents[position])
            items = await self._bulk(lines)
            return {
                position: _reason(item)
                for position, item in zip(batch, items, strict=False)
                if int(item.get("status", 500)) >= 300
            }

        failures = await index_in_batches(prepared, self.settings.batch_size, send)
        return index_result(prepared, failures, provider=self.name, index=name)

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults:
        schema = await self.schemas.get(name, self._load_schema)
        check_filterable(filters, schema.filterable, index=name, provider=self.name)
        if offset + limit > self.settings.max_result_window:
            raise InvalidRequest(
                f"{self.name} serves the first {self.settings.max_result_window} hits of a "
                f"query; offset + limit is {offset + limit} (raise max_result_window with the "
                "index setting index.max_result_window, or narrow the query with filters)",
                field="offset",
                provider=self.name,
            )
        body = search_body(schema, query_words(query), filters, limit=limit, offset=offset)
        answer = (await self.request("POST", f"/{name}/_search", json=body, expected=(200,))).json()
        found = answer.get("hits", {})
        hits = [
            Hit(id=str(hit["_id"]), score=float(hit.get("_score") or 0.0), document=hit["_source"])
            for hit in found.get("hits", [])
        ]
        total = found.get("total", 0)
        total = int(total["value"] if isinstance(total, dict) else total)
        return SearchResults(hits=hits, total=total, provider=self.name, raw=answer)

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult:
        await self.schemas.get(name, self._load_schema)
        found: set[str] = set()
        for batch in chunked(list(dict.fromkeys(ids)), self.settings.batch_size):
            items = await self._bulk([{"delete": {"_index": name, "_id": i}} for i in batch])
            for doc_id, item in zip(batch, items, strict=False):
                status = int(item.get("status", 500))
                if status < 300:
                    found.add(doc_id)
                elif status != 404:
                    raise ProviderError(
                        f"{self.name}: deleting {doc_id!r} from {name!r} failed: {_reason(item)}",
                        provider=self.name,
                        status=status,
                        vendor_code=(item.get("error") or {}).get("type"),
                        retryable=status in (429, 503),
                        raw=item,
                    )
        return delete_result(ids, found, provider=self.name, index=name)

    # -- helpers ----------------------------------------------------------------------------

    async def _bulk(self, lines: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Each item's result (``{"status", "result" | "error"}``), in the order sent."""
        refresh = "wait_for" if self.settings.wait_for_tasks else "false"
        response = await self.request(
            "POST",
            "/_bulk",
            params={"refresh": refresh},
            content=bulk_body(lines),
            headers=_NDJSON,
            expected=(200,),
        )
        return [next(iter(item.values())) for item in response.json().get("items", [])]

    async def _load_schema(self, name: str) -> IndexSchema:
        answer = (await self.request("GET", f"/{name}/_mapping", expected=(200,))).json()
        schema = schema_from(name, answer)
        if schema is not None:
            return schema
        # An index the hub did not make: text fields are searched, the others filtered.
        entry: dict[str, Any] = next(iter(answer.values()), {})
        properties: dict[str, Any] = entry.get("mappings", {}).get("properties", {})
        text = [f for f, spec in properties.items() if spec.get("type") == "text"]
        return IndexSchema(
            name=name,
            searchable=tuple(text) or ("id",),
            filterable=tuple(f for f in properties if f not in text),
            primary_key="id",
        )

    # -- errors -----------------------------------------------------------------------------

    def error_message(self, response: httpx.Response) -> str:
        error = _error(response)
        if isinstance(error, dict) and error.get("reason"):
            return str(error["reason"])
        return super().error_message(response)

    def vendor_code(self, response: httpx.Response) -> str | None:
        error = _error(response)
        if isinstance(error, dict) and error.get("type"):
            return str(error["type"])
        return super().vendor_code(response)

    def map_error(self, response: httpx.Response) -> HubError | None:
        error = _error(response)
        if isinstance(error, dict) and error.get("type") == "index_not_found_exception":
            index = str(error.get("index") or response.request.url.path.strip("/").split("/")[0])
            cause = self.provider_error(NotFound, response)
            return missing_index(index, provider=self.name, cause=cause)
        return None


def _error(response: httpx.Response) -> Any:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _reason(item: Mapping[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', 'no reason given')}"
    return f"HTTP {item.get('status')}: {item.get('result', 'refused')}"
