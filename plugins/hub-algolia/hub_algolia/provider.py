"""Algolia over its REST API (``https://{app_id}.algolia.net/1/...``), on
:class:`hub.http.HttpProvider`.

Writes are tasks: settings and batches answer ``{"taskID": ...}`` and
``GET /1/indexes/{index}/task/{taskID}`` is polled until ``published`` (within
``task_timeout``; ``wait_for_tasks = false`` returns at once, task ids in ``raw``). A batch is
accepted or refused as a whole (HTTP 400 names the reason), so ids and searchable fields are
checked before sending and a refused batch marks each of its documents with the reason.

Algolia ranks by tie-breaking criteria, not by a score: a hit's ``score`` is its rank
(``1 / (1 + position)``, higher is better) and ``_rankingInfo`` stays in ``raw``. Filters on
fields the index did not declare filterable are refused here, because Algolia ignores them
silently (no hit matches a facet it does not know).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from hub.capabilities._filters import Condition, check_filterable
from hub.capabilities._search_vendor import (
    SchemaCache,
    await_task,
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
from hub.errors import HubError, InvalidRequest, NotFound
from hub.http import HttpProvider
from hub_algolia.mapping import ALGOLIA_FILTERS, hit_document, index_settings, record, schema_from
from hub_algolia.settings import AlgoliaSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["AlgoliaProvider"]

#: Hits per query request: Algolia's ``length`` goes up to 1000.
_MAX_LENGTH = 1000


class AlgoliaProvider(HttpProvider):
    """The ``algolia`` search provider."""

    idempotency_header = None  # records are replaced by objectID: repeating is harmless

    def __init__(self, settings: AlgoliaSettings, context: ProviderContext) -> None:
        key = settings.api_key.get_secret_value()
        super().__init__(
            context,
            base_url=settings.api_url(),
            headers={"X-Algolia-Application-Id": settings.app_id, "X-Algolia-API-Key": key},
            secrets=[key],
        )
        self.settings = settings
        self.schemas = SchemaCache()
        self._clock = context.runtime.clock

    # -- the provider protocol -------------------------------------------------------------

    async def ensure_index(self, schema: IndexSchema) -> IndexSchema:
        body = index_settings(schema, max_hits=self.settings.max_hits)
        response = await self.request("PUT", f"/1/indexes/{schema.name}/settings", json=body)
        await self._published(schema.name, response, f"updating the settings of {schema.name!r}")
        return self.schemas.remember(schema)

    async def index(self, name: str, documents: Sequence[dict[str, Any]]) -> IndexResult:
        schema = await self.schemas.get(name, self._load_schema)
        prepared = prepare_documents(documents, schema)
        tasks: list[int] = []

        async def send(batch: list[int]) -> Mapping[int, str]:
            requests = [
                {"action": "updateObject", "body": record(documents[p], prepared.ids[p])}
                for p in batch
            ]
            try:
                response = await self.batch(name, requests)
            except InvalidRequest as refused:  # the whole batch: e.g. a record too big
                return {position: refused.message for position in batch}
            tasks.append(int(response.json()["taskID"]))
            return {}

        failures = await index_in_batches(prepared, self.settings.batch_size, send)
        for task in tasks:
            await self._settled(name, task, f"indexing into {name!r}")
        return index_result(
            prepared, failures, provider=self.name, index=name, raw={"tasks": tasks}
        )

    async def search(
        self, name: str, query: str, *, filters: tuple[Condition, ...], limit: int, offset: int
    ) -> SearchResults:
        schema = await self.schemas.get(name, self._load_schema)
        check_filterable(filters, schema.filterable, index=name, provider=self.name)
        if offset + limit > self.settings.max_hits:
            raise InvalidRequest(
                f"Algolia serves the first {self.settings.max_hits} hits of a query; offset + "
                f"limit is {offset + limit} (raise max_hits, Algolia's paginationLimitedTo, or "
                "narrow the query with filters)",
                field="offset",
                provider=self.name,
            )
        body: dict[str, Any] = {
            "query": query_words(query),
            "getRankingInfo": True,
            "attributesToHighlight": [],
            "attributesToSnippet": [],
            "analytics": False,
        }
        expression = render_filters(filters, ALGOLIA_FILTERS, provider=self.name)
        if expression is not None:
            body["filters"] = expression
        hits: list[Hit] = []
        answers: list[Any] = []
        total = 0
        for start, size in windows(offset, limit, _MAX_LENGTH):
            answer = (
                await self.request(
                    "POST",
                    f"/1/indexes/{name}/query",
                    json={**body, "offset": start, "length": size},
                    expected=(200,),
                )
            ).json()
            answers.append(answer)
            total = int(answer.get("nbHits", 0))
            for position, hit in enumerate(answer.get("hits", []), start=start):
                document = hit_document(hit, schema)
                score = 1.0 / (1 + position)
                hits.append(Hit(id=str(hit.get("objectID", "")), score=score, document=document))
            if start + size >= total:
                break
        return SearchResults(hits=hits, total=total, provider=self.name, raw=answers)

    async def delete(self, name: str, ids: Sequence[str]) -> DeleteResult:
        await self.schemas.get(name, self._load_schema)
        found: set[str] = set()
        tasks: list[int] = []
        for batch in chunked(list(dict.fromkeys(ids)), self.settings.batch_size):
            lookup = [
                {"indexName": name, "objectID": doc_id, "attributesToRetrieve": ["objectID"]}
                for doc_id in batch
            ]
            answer = await self.request(
                "POST", "/1/indexes/*/objects", json={"requests": lookup}, expected=(200,)
            )
            present = [str(r["objectID"]) for r in answer.json().get("results", []) if r]
            if present:
                requests = [{"action": "deleteObject", "body": {"objectID": i}} for i in present]
                tasks.append(int((await self.batch(name, requests)).json()["taskID"]))
                found.update(present)
        for task in tasks:
            await self._settled(name, task, f"deleting from {name!r}")
        return delete_result(ids, found, provider=self.name, index=name, raw={"tasks": tasks})

    # -- helpers ----------------------------------------------------------------------------

    async def batch(self, name: str, requests: list[dict[str, Any]]) -> httpx.Response:
        return await self.request("POST", f"/1/indexes/{name}/batch", json={"requests": requests})

    async def _published(self, name: str, response: httpx.Response, what: str) -> None:
        await self._wait(name, int(response.json()["taskID"]), what)

    async def _settled(self, name: str, task: int, what: str) -> None:
        if self.settings.wait_for_tasks:
            await self._wait(name, task, what)

    async def _wait(self, name: str, task: int, what: str) -> None:
        async def published() -> bool:
            answer = await self.request("GET", f"/1/indexes/{name}/task/{task}", expected=(200,))
            return bool(answer.json().get("status") == "published")

        await await_task(
            published,
            clock=self._clock,
            timeout_seconds=self.settings.task_timeout,
            provider=self.name,
            what=f"Algolia task {task} ({what})",
        )

    async def _load_schema(self, name: str) -> IndexSchema:
        answer = await self.request("GET", f"/1/indexes/{name}/settings", expected=(200,))
        return schema_from(name, answer.json())

    def map_error(self, response: httpx.Response) -> HubError | None:
        parts = response.request.url.path.strip("/").split("/")
        if response.status_code == 404 and parts[:2] == ["1", "indexes"] and len(parts) > 2:
            cause = self.provider_error(NotFound, response)
            return missing_index(parts[2], provider=self.name, cause=cause)
        return None
