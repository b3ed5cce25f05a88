"""Typesense over its REST API, on :class:`hub.http.HttpProvider`.

Typesense indexes synchronously: an import answers once the documents are searchable, one
JSON line per document (``{"success": true}`` or ``{"success": false, "error": ...}``), which
become the per-document results. A search asks for exact words (``prefix=false``,
``num_typos=0``, ``drop_tokens_threshold=0``) over the collection's ``string*`` fields and uses
``offset``/``limit``, in requests of at most 250 hits; ``found`` is the total and
``text_match`` the score. Deletes find the ids that exist, then delete by ``filter_by``.
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
    render_filters,
    windows,
)
from hub.capabilities.search import DeleteResult, Hit, IndexResult, IndexSchema, SearchResults
from hub.errors import HubError, NotFound
from hub.http import HttpProvider
from hub_typesense.mapping import (
    TYPESENSE_FILTERS,
    collection_fields,
    from_typesense,
    id_conflict,
    jsonl,
    schema_from,
    to_typesense,
)
from hub_typesense.settings import TypesenseSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["TypesenseProvider"]

#: Exact words, every one required, as in every hub provider.
_EXACT = {
    "prefix": "false",
    "num_typos": "0",
    "drop_tokens_threshold": "0",
    "typo_tokens_threshold": "0",
}


class TypesenseProvider(HttpProvider):
    """The ``typesense`` search provider."""

    idempotency_header = None  # imports are upserts by id

    def __init__(self, settings: TypesenseSettings, context: ProviderContext) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        super().__init__(
            context,
            base_url=settings.url,
            headers={"X-TYPESENSE-API-KEY": key} if key else None,
            secrets=[key] if key else [],
        )
        self.settings = settings
        self.schemas = SchemaCache()

    # -- the provider protocol -------------------------------------------------------------

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema:
        wanted = collection_fields(schema)
        found = await self.request("GET", f"/collections/{schema.name}", expected=(200, 404))
        if found.status_code == 404:
            await self.request("POST", "/collections", json={"name": schema.name, "fields": wanted})
            return self.schemas.remember(schema)
        have = {f["name"]: f for f in found.json().get("fields", []) if isinstance(f, dict)}
        changes: list[dict[str, Any]] = []
        for field in wanted:
            old = have.get(field["name"])
            if old is not None and all(old.get(k) == v for k, v in field.items()):
                continue
            if old is not None:
                changes.append({"name": field["name"], "drop": True})
            changes.append(field)
        if changes:
            await self.request("PATCH", f"/collections/{schema.name}", json={"fields": changes})
        return self.schemas.remember(schema)

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult:
        schema = await self.schemas.get(name, self._load_schema)
        prepared = prepare_documents(documents, schema, check=id_conflict(schema))

        async def send(batch: list[int]) -> Mapping[int, str]:
            body = jsonl([to_typesense(documents[p], prepared.ids[p]) for p in batch])
            response = await self.request(
                "POST",
                f"/collections/{name}/documents/import",
                params={"action": "upsert", "dirty_values": "coerce_or_reject"},
                content=body,
                headers={"Content-Type": "text/plain"},
                expected=(200,),
            )
            lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
            return {
                position: str(line.get("error") or "refused")
                for position, line in zip(batch, lines, strict=False)
                if not line.get("success")
            }

        failures = await index_in_batches(prepared, self.settings.batch_size, send)
        return index_result(prepared, failures, provider=self.name, index=name)

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults:
        schema = await self.schemas.get(name, self._load_schema)
        check_filterable(filters, schema.filterable, index=name, provider=self.name)
        params: dict[str, Any] = {
            "q": query_words(query) or "*",
            "query_by": ",".join(schema.searchable),
            **_EXACT,
        }
        expression = render_filters(filters, TYPESENSE_FILTERS, provider=self.name)
        if expression is not None:
            params["filter_by"] = expression
        hits: list[Hit] = []
        answers: list[Any] = []
        total = 0
        for start, size in windows(offset, limit, self.settings.max_per_request):
            answer = await self._search(name, {**params, "offset": start, "limit": size})
            answers.append(answer)
            total = int(answer.get("found", 0))
            for hit in answer.get("hits", []):
                document = from_typesense(hit.get("document", {}), schema)
                doc_id = str(hit.get("document", {}).get("id", ""))
                score = float(hit.get("text_match") or 0)
                hits.append(Hit(id=doc_id, score=score, document=document))
            if start + size >= total:
                break
        return SearchResults(hits=hits, total=total, provider=self.name, raw=answers)

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult:
        await self.schemas.get(name, self._load_schema)
        found: set[str] = set()
        answers: list[Any] = []
        for batch in chunked(list(dict.fromkeys(ids)), self.settings.max_per_request):
            if any("`" in doc_id for doc_id in batch):
                batch = [doc_id for doc_id in batch if "`" not in doc_id]  # cannot exist here
            if not batch:
                continue
            by_id = "id:[" + ", ".join(f"`{doc_id}`" for doc_id in batch) + "]"
            answer = await self._search(
                name,
                {"q": "*", "filter_by": by_id, "limit": len(batch), "include_fields": "id"},
            )
            present = [str(h["document"]["id"]) for h in answer.get("hits", [])]
            if present:
                gone = "id:[" + ", ".join(f"`{doc_id}`" for doc_id in present) + "]"
                response = await self.request(
                    "DELETE",
                    f"/collections/{name}/documents",
                    params={"filter_by": gone},
                    expected=(200,),
                )
                answers.append(response.json())
                found.update(present)
        return delete_result(ids, found, provider=self.name, index=name, raw=answers)

    # -- helpers ----------------------------------------------------------------------------

    async def _search(self, name: str, params: Mapping[str, Any]) -> Any:
        response = await self.request(
            "GET", f"/collections/{name}/documents/search", params=params, expected=(200,)
        )
        return response.json()

    async def _load_schema(self, name: str) -> IndexSchema:
        return schema_from((await self.request("GET", f"/collections/{name}")).json())

    def map_error(self, response: httpx.Response) -> HubError | None:
        parts = response.request.url.path.strip("/").split("/")
        if response.status_code == 404 and parts[:1] == ["collections"] and len(parts) > 1:
            cause = self.provider_error(NotFound, response)
            return missing_index(parts[1], provider=self.name, cause=cause)
        return None
