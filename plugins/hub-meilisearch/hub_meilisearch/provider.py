"""Meilisearch over its REST API, on :class:`hub.http.HttpProvider`.

Writes are asynchronous in Meilisearch: each answers ``202 {"taskUid": ...}`` and the task is
polled (``GET /tasks/{uid}``) until it ``succeeded`` or ``failed``, within ``task_timeout``, so
a document is searchable when ``index`` returns (``wait_for_tasks = false`` returns at once,
the task uids in ``raw``). A document batch succeeds or fails as a whole, so ids and searchable
fields are checked before sending; a failed batch marks each of its documents with the reason.

Searches ask for ``page``/``hitsPerPage`` (the smallest page covering the offset), the mode in
which Meilisearch counts ``totalHits`` exactly, with ``matchingStrategy: "all"`` so every word
must match, and ``showRankingScore`` for the score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from hub.capabilities._filters import Condition
from hub.capabilities._search_vendor import (
    SchemaCache,
    await_task,
    covering_page,
    delete_result,
    escape,
    index_in_batches,
    index_result,
    missing_index,
    prepare_documents,
    query_words,
    render_filters,
)
from hub.capabilities.search import DeleteResult, Hit, IndexResult, IndexSchema, SearchResults
from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    NotFound,
    ProviderError,
    Unavailable,
)
from hub.http import HttpProvider
from hub_meilisearch.mapping import (
    MEILISEARCH_FILTERS,
    hit_document,
    id_problem,
    index_settings,
    schema_from,
)
from hub_meilisearch.settings import MeilisearchSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["MeilisearchProvider"]

_PENDING = ("enqueued", "processing")


class MeilisearchProvider(HttpProvider):
    """The ``meilisearch`` search provider."""

    idempotency_header = None  # writes are upserts by id: repeating one is harmless

    def __init__(self, settings: MeilisearchSettings, context: ProviderContext) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        super().__init__(
            context,
            base_url=settings.url,
            headers={"Authorization": f"Bearer {key}"} if key else None,
            secrets=[key] if key else [],
        )
        self.settings = settings
        self.schemas = SchemaCache()
        self._clock = context.runtime.clock

    # -- the provider protocol -------------------------------------------------------------

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema:
        uid = schema.name
        created = await self.request(
            "POST", "/indexes", json={"uid": uid, "primaryKey": schema.primary_key}
        )
        task = await self._finished(created, f"creating index {uid!r}")
        if _error_code(task) == "index_already_exists":
            await self._check_primary_key(schema)
        elif task.get("status") != "succeeded":
            raise self._task_error(task, uid)
        body = index_settings(
            schema,
            exact_words=self.settings.exact_words,
            max_total_hits=self.settings.max_total_hits,
        )
        updated = await self.request("PATCH", f"/indexes/{uid}/settings", json=body)
        task = await self._finished(updated, f"updating the settings of {uid!r}")
        if task.get("status") != "succeeded":
            raise self._task_error(task, uid)
        return self.schemas.remember(schema)

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult:
        schema = await self.schemas.get(name, self._load_schema)
        prepared = prepare_documents(documents, schema, check=id_problem)
        enqueued: list[tuple[list[int], int]] = []

        async def send(batch: list[int]) -> Mapping[int, str]:
            response = await self.request(
                "POST",
                f"/indexes/{name}/documents",
                params={"primaryKey": schema.primary_key},
                json=[documents[position] for position in batch],
            )
            enqueued.append((batch, _task_uid(response)))
            return {}

        failures = await index_in_batches(prepared, self.settings.batch_size, send)
        tasks = []
        for batch, uid in enqueued:
            task = await self._settled(uid, f"adding {len(batch)} documents to {name!r}")
            tasks.append(task)
            if task.get("status") in ("failed", "canceled"):
                error = self._task_error(task, name)
                if not isinstance(error, InvalidRequest):
                    raise error
                failures.update({position: error.message for position in batch})
        return index_result(
            prepared, failures, provider=self.name, index=name, raw={"tasks": tasks}
        )

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults:
        page, per_page, skip = covering_page(
            offset,
            limit,
            max_total=self.settings.max_total_hits,
            provider=self.name,
            setting="max_total_hits",
        )
        body: dict[str, Any] = {
            "q": query_words(query),
            "page": page,
            "hitsPerPage": per_page,
            "matchingStrategy": "all",
            "showRankingScore": True,
            "attributesToHighlight": [],
        }
        expression = render_filters(filters, MEILISEARCH_FILTERS, provider=self.name)
        if expression is not None:
            body["filter"] = expression
        response = await self.request("POST", f"/indexes/{name}/search", json=body, expected=(200,))
        answer = response.json()
        page_hits = answer.get("hits", [])[skip : skip + limit]
        schema = await self._cached(name) if page_hits else None
        hits = []
        for hit in page_hits:
            document, score = hit_document(hit)
            key = schema.primary_key if schema else _guess_key(document)
            hits.append(Hit(id=str(document.get(key, "")), score=score, document=document))
        total = int(answer.get("totalHits", answer.get("estimatedTotalHits", 0)))
        return SearchResults(hits=hits, total=total, provider=self.name, raw=answer)

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult:
        schema = await self.schemas.get(name, self._load_schema)
        key = schema.primary_key
        candidates = [i for i in dict.fromkeys(ids) if id_problem(i) is None]
        found: set[str] = set()
        raw: dict[str, Any] = {}
        if candidates:
            listed = ", ".join(escape(i) for i in candidates)
            response = await self.request(
                "POST",
                f"/indexes/{name}/documents/fetch",
                json={"filter": f"{key} IN [{listed}]", "fields": [key], "limit": len(candidates)},
                expected=(200,),
            )
            found = {str(doc.get(key)) for doc in response.json().get("results", [])}
        if found:
            deleted = await self.request(
                "POST", f"/indexes/{name}/documents/delete-batch", json=sorted(found)
            )
            task = await self._settled(_task_uid(deleted), f"deleting from {name!r}")
            if task.get("status") in ("failed", "canceled"):
                raise self._task_error(task, name)
            raw["task"] = task
        return delete_result(ids, found, provider=self.name, index=name, raw=raw)

    # -- tasks ------------------------------------------------------------------------------

    async def _finished(self, response: httpx.Response, what: str) -> dict[str, Any]:
        """The task of ``response`` once processed, whatever ``wait_for_tasks`` says."""
        return await self._poll(_task_uid(response), what)

    async def _settled(self, uid: int, what: str) -> dict[str, Any]:
        """The task once processed, or as enqueued when the caller does not wait."""
        if not self.settings.wait_for_tasks:
            return {"taskUid": uid, "status": "enqueued"}
        return await self._poll(uid, what)

    async def _poll(self, uid: int, what: str) -> dict[str, Any]:
        final: dict[str, Any] = {}

        async def done() -> bool:
            task = (await self.request("GET", f"/tasks/{uid}", expected=(200,))).json()
            if task.get("status") in _PENDING:
                return False
            final.update(task)
            return True

        await await_task(
            done,
            clock=self._clock,
            timeout_seconds=self.settings.task_timeout,
            provider=self.name,
            what=f"Meilisearch task {uid} ({what})",
        )
        return final

    def _task_error(self, task: Mapping[str, Any], index: str) -> HubError:
        """A failed (or canceled) task's ``error`` onto the error tree."""
        error = task.get("error") or {}
        code, kind = error.get("code"), error.get("type")
        message = f"{self.name}: task {task.get('uid')} {task.get('status')}: " + str(
            error.get("message") or "no reason given"
        )
        if code == "index_not_found":
            return missing_index(index, provider=self.name)
        if kind == "invalid_request":
            return InvalidRequest(message, provider=self.name, vendor_code=code, raw=dict(task))
        if kind == "auth":
            return AuthenticationError(message, provider=self.name, vendor_code=code, raw=task)
        if task.get("status") == "canceled":
            return ProviderError(message, provider=self.name, retryable=True, raw=dict(task))
        return Unavailable(message, provider=self.name, vendor_code=code, raw=dict(task))

    # -- schemas ----------------------------------------------------------------------------

    async def _load_schema(self, name: str) -> IndexSchema:
        index = (await self.request("GET", f"/indexes/{name}", expected=(200,))).json()
        settings = (await self.request("GET", f"/indexes/{name}/settings", expected=(200,))).json()
        return schema_from(name, index, settings)

    async def _cached(self, name: str) -> IndexSchema | None:
        try:
            return await self.schemas.get(name, self._load_schema)
        except NotFound:
            return None

    async def _check_primary_key(self, schema: IndexSchema) -> None:
        index = (await self.request("GET", f"/indexes/{schema.name}", expected=(200,))).json()
        existing = index.get("primaryKey")
        if existing not in (None, schema.primary_key):
            raise InvalidRequest(
                f"Meilisearch index {schema.name!r} exists with primary key {existing!r}, not "
                f"{schema.primary_key!r}; use primary_key={existing!r} or another index name",
                field="primary_key",
                provider=self.name,
            )

    # -- errors -----------------------------------------------------------------------------

    def map_error(self, response: httpx.Response) -> HubError | None:
        code = self.vendor_code(response)
        if code == "index_not_found":
            cause = self.provider_error(NotFound, response)
            return missing_index(_index_of(response), provider=self.name, cause=cause)
        if code in ("invalid_search_filter", "invalid_document_filter"):
            said = self.provider_error(ProviderError, response)
            return InvalidRequest(
                said.message + "; declare the field in filterable= of ensure_index()",
                field="filters",
                provider=self.name,
                vendor_code=code,
                raw=said.raw,
            )
        return None


def _task_uid(response: httpx.Response) -> int:
    return int(response.json()["taskUid"])


def _error_code(task: Mapping[str, Any]) -> str | None:
    error = task.get("error")
    return error.get("code") if isinstance(error, dict) else None


def _index_of(response: httpx.Response) -> str:
    parts = response.request.url.path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "indexes" else "?"


def _guess_key(document: Mapping[str, Any]) -> str:
    return "id" if "id" in document else next(iter(document), "id")
