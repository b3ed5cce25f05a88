"""A stand-in for Meilisearch, answering as its API reference documents, over memory.

Routes: ``POST /indexes``, ``GET /indexes/{uid}``, ``GET|PATCH /indexes/{uid}/settings``,
``POST /indexes/{uid}/documents`` (replace by primary key, auto-creates the index),
``POST /indexes/{uid}/documents/fetch``, ``POST /indexes/{uid}/documents/delete-batch``,
``POST /indexes/{uid}/search`` and ``GET /tasks/{uid}``. Writes are tasks: ``202`` with a
summarized task, then ``processing`` on the first poll and ``succeeded``/``failed`` after,
applied in order. Errors are ``{"message", "code", "type", "link"}``.

The filter parser reads the documented syntax: ``field = value``, ``!=``, ``>``, ``>=``,
``<``, ``<=``, ``field IN [a, b]``, ``AND``, ``OR``, ``NOT`` and parentheses, strings in
double quotes with backslash escapes; a field missing from ``filterableAttributes`` is an
``invalid_search_filter``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from hub.capabilities.search import field_text
from tests.plugins.search.engine import (
    Cursor,
    Document,
    FilterSyntaxError,
    Predicate,
    StandIn,
    compare,
    rank,
    tokens,
    values,
)

API_KEY = "meili-master-key-for-tests"
BASE_URL = "http://meilisearch.test:7700"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,511}$")
_RULES = [
    ("string", r'"(?:[^"\\]|\\.)*"'),
    ("number", r"-?\d+(?:\.\d+)?"),
    ("op", r">=|<=|!=|=|>|<"),
    ("punct", r"[\[\](),]"),
    ("word", r"[A-Za-z_][A-Za-z0-9_.]*"),
]


def error(status: int, code: str, message: str, kind: str = "invalid_request") -> httpx.Response:
    link = f"https://docs.meilisearch.com/errors#{code}"
    return httpx.Response(
        status, json={"message": message, "code": code, "type": kind, "link": link}
    )


@dataclass
class Index:
    uid: str
    primary_key: str | None
    documents: dict[str, Document] = field(default_factory=dict)
    settings: dict[str, Any] = field(
        default_factory=lambda: {
            "searchableAttributes": ["*"],
            "filterableAttributes": [],
            "sortableAttributes": [],
            "typoTolerance": {"enabled": True},
            "pagination": {"maxTotalHits": 1000},
        }
    )


@dataclass
class MeilisearchStandIn(StandIn):
    api_key: str | None = API_KEY
    indexes: dict[str, Index] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Polls answered "processing" before a task is done.
    polls_before_done: int = 1
    _work: dict[int, Any] = field(default_factory=dict)
    _polls: dict[int, int] = field(default_factory=dict)

    # -- routing ------------------------------------------------------------------------------

    def route(self, request: httpx.Request) -> httpx.Response:
        if self.api_key is not None:
            given = request.headers.get("authorization")
            if given is None:
                return error(
                    401,
                    "missing_authorization_header",
                    "The Authorization header is missing. It must use the bearer authorization "
                    "method.",
                    "auth",
                )
            if given != f"Bearer {self.api_key}":
                return error(403, "invalid_api_key", "The provided API key is invalid.", "auth")
        parts = request.url.path.strip("/").split("/")
        body = json.loads(request.content) if request.content else None
        method = request.method
        if parts == ["indexes"] and method == "POST":
            return self._enqueue(body["uid"], "indexCreation", ("create", body))
        if parts[:1] == ["tasks"] and len(parts) == 2 and method == "GET":
            return self._task(int(parts[1]))
        if parts[:1] != ["indexes"] or len(parts) < 2:
            return error(404, "not_found", "Not found.")
        uid, rest = parts[1], parts[2:]
        if rest == ["documents"] and method == "POST":
            key = request.url.params.get("primaryKey")
            return self._enqueue(uid, "documentAdditionOrUpdate", ("add", key, body))
        index = self.indexes.get(uid)
        if index is None:
            return error(404, "index_not_found", f"Index `{uid}` not found.")
        if rest == [] and method == "GET":
            return httpx.Response(200, json=_index_view(index))
        if rest == ["settings"] and method == "GET":
            return httpx.Response(200, json=index.settings)
        if rest == ["settings"] and method == "PATCH":
            return self._enqueue(uid, "settingsUpdate", ("settings", body))
        if rest == ["search"] and method == "POST":
            return self._search(index, body)
        if rest == ["documents", "fetch"] and method == "POST":
            return self._fetch(index, body)
        if rest == ["documents", "delete-batch"] and method == "POST":
            return self._enqueue(uid, "documentDeletion", ("delete", body))
        return error(404, "not_found", "Not found.")

    # -- tasks --------------------------------------------------------------------------------

    def _enqueue(self, uid: str, kind: str, work: Any) -> httpx.Response:
        number = len(self.tasks)
        self.tasks[number] = {
            "uid": number,
            "indexUid": uid,
            "status": "enqueued",
            "type": kind,
            "details": {},
            "error": None,
            "enqueuedAt": "2024-06-01T10:00:00.000000Z",
        }
        self._work[number] = work
        summary = {k: self.tasks[number][k] for k in ("indexUid", "status", "type", "enqueuedAt")}
        return httpx.Response(202, json={"taskUid": number, **summary})

    def _task(self, number: int) -> httpx.Response:
        task = self.tasks.get(number)
        if task is None:
            return error(404, "task_not_found", f"Task `{number}` not found.")
        polls = self._polls[number] = self._polls.get(number, 0) + 1
        if task["status"] in ("enqueued", "processing"):
            if polls <= self.polls_before_done:
                task["status"] = "processing"
            else:
                self.process(upto=number)
        return httpx.Response(200, json=task)

    def process(self, upto: int | None = None) -> None:
        """Run every pending task (up to ``upto``), in order, as Meilisearch's queue does."""
        for number, task in sorted(self.tasks.items()):
            if upto is not None and number > upto:
                break
            if task["status"] in ("enqueued", "processing"):
                failure = self._apply(task, self._work.pop(number))
                task["status"] = "failed" if failure else "succeeded"
                task["error"] = failure
                task["finishedAt"] = "2024-06-01T10:00:01.000000Z"

    def _apply(self, task: dict[str, Any], work: Any) -> dict[str, Any] | None:
        uid = task["indexUid"]
        action = work[0]
        if action == "create":
            if uid in self.indexes:
                return _task_error("index_already_exists", f"Index `{uid}` already exists.")
            self.indexes[uid] = Index(uid, work[1].get("primaryKey"))
            return None
        index = self.indexes.get(uid)
        if action == "add":
            if index is None:
                index = self.indexes[uid] = Index(uid, work[1])
            return self._add(task, index, work[1], work[2])
        if index is None:
            return _task_error("index_not_found", f"Index `{uid}` not found.")
        if action == "settings":
            index.settings.update(work[1])
            return None
        deleted = [i for i in work[1] if index.documents.pop(str(i), None) is not None]
        task["details"] = {"providedIds": len(work[1]), "deletedDocuments": len(deleted)}
        return None

    def _add(
        self, task: dict[str, Any], index: Index, key: str | None, documents: list[Document]
    ) -> dict[str, Any] | None:
        if key and index.primary_key and key != index.primary_key:
            return _task_error(
                "index_primary_key_already_exists",
                f"Index `{index.uid}`: Index already has a primary key: `{index.primary_key}`.",
            )
        index.primary_key = index.primary_key or key or "id"
        for document in documents:  # a batch is all or nothing
            doc_id = document.get(index.primary_key)
            if doc_id is None:
                return _task_error(
                    "missing_document_id",
                    f"Document doesn't have a `{index.primary_key}` attribute: "
                    f"`{json.dumps(document)}`.",
                )
            if isinstance(doc_id, bool) or not _ID.match(str(doc_id)):
                return _task_error(
                    "invalid_document_id",
                    f"Document identifier `{json.dumps(doc_id)}` is invalid. A document "
                    "identifier can be of type integer or string, only composed of alphanumeric "
                    "characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be "
                    "more than 511 bytes.",
                )
        for document in documents:
            index.documents[str(document[index.primary_key])] = json.loads(json.dumps(document))
        task["details"] = {"receivedDocuments": len(documents), "indexedDocuments": len(documents)}
        return None

    # -- reads --------------------------------------------------------------------------------

    def _search(self, index: Index, body: dict[str, Any]) -> httpx.Response:
        try:
            keep = self._filter(index, body.get("filter"))
        except FilterSyntaxError as exc:
            return error(400, "invalid_search_filter", str(exc))
        strategy = body.get("matchingStrategy", "last")
        if strategy != "all":
            return error(400, "invalid_search_matching_strategy", "stand-in serves 'all' only")
        fields = index.settings["searchableAttributes"]
        if fields == ["*"]:
            fields = sorted({k for d in index.documents.values() for k in d if _texty(d, k)})
        ranked = rank(index.documents, fields, body.get("q") or "", keep)
        cap = index.settings["pagination"]["maxTotalHits"]
        ranked = ranked[:cap]
        best = max((score for _, score in ranked), default=0.0) or 1.0
        answer: dict[str, Any] = {"query": body.get("q") or "", "processingTimeMs": 1}
        if "page" in body or "hitsPerPage" in body:
            page, per_page = body.get("page", 1), body.get("hitsPerPage", 20)
            start = (page - 1) * per_page
            chosen = ranked[start : start + per_page]
            answer |= {
                "hitsPerPage": per_page,
                "page": page,
                "totalPages": -(-len(ranked) // per_page),
                "totalHits": len(ranked),
            }
        else:
            offset, limit = body.get("offset", 0), body.get("limit", 20)
            chosen = ranked[offset : offset + limit]
            answer |= {"offset": offset, "limit": limit, "estimatedTotalHits": len(ranked)}
        hits = []
        for doc_id, score in chosen:
            hit = dict(index.documents[doc_id])
            if body.get("showRankingScore"):
                hit["_rankingScore"] = round(score / best, 4) if score else 1.0
            hits.append(hit)
        return httpx.Response(200, json={"hits": hits, **answer})

    def _fetch(self, index: Index, body: dict[str, Any]) -> httpx.Response:
        try:
            keep = self._filter(index, body.get("filter"))
        except FilterSyntaxError as exc:
            return error(400, "invalid_document_filter", str(exc))
        found = [d for d in index.documents.values() if keep(d)]
        fields = body.get("fields")
        limit = body.get("limit", 20)
        results = [{k: v for k, v in d.items() if not fields or k in fields} for d in found]
        answer = {"results": results[:limit], "offset": 0, "limit": limit, "total": len(found)}
        return httpx.Response(200, json=answer)

    def _filter(self, index: Index, text: str | None) -> Predicate:
        if not text:
            return lambda _: True
        allowed = set(index.settings["filterableAttributes"])
        cursor = Cursor(tokens(text, _RULES))
        predicate = _or(cursor, allowed)
        if cursor.peek() is not None:
            raise FilterSyntaxError(f"unexpected {cursor.peek()} in {text!r}")
        return predicate


def _or(cursor: Cursor, allowed: set[str]) -> Predicate:
    parts = [_and(cursor, allowed)]
    while cursor.accept("OR"):
        parts.append(_and(cursor, allowed))
    return lambda d: any(p(d) for p in parts)


def _and(cursor: Cursor, allowed: set[str]) -> Predicate:
    parts = [_not(cursor, allowed)]
    while cursor.accept("AND"):
        parts.append(_not(cursor, allowed))
    return lambda d: all(p(d) for p in parts)


def _not(cursor: Cursor, allowed: set[str]) -> Predicate:
    if cursor.accept("NOT"):
        inner = _not(cursor, allowed)
        return lambda d: not inner(d)
    if cursor.accept("("):
        inner = _or(cursor, allowed)
        cursor.take(")")
        return inner
    return _condition(cursor, allowed)


def _condition(cursor: Cursor, allowed: set[str]) -> Predicate:
    name = cursor.take().text
    if name not in allowed:
        listed = ", ".join(sorted(allowed))
        raise FilterSyntaxError(
            f"Attribute `{name}` is not filterable. Available filterable attributes are: "
            f"`{listed}`."
        )
    if cursor.accept("IN"):
        cursor.take("[")
        wanted = [cursor.value()]
        while cursor.accept(","):
            wanted.append(cursor.value())
        cursor.take("]")
        return lambda d: any(_equal(v, w) for v in values(d, name) for w in wanted)
    op = cursor.take("=", "!=", ">", ">=", "<", "<=").text
    bound = cursor.value()
    if op == "=":
        return lambda d: any(_equal(v, bound) for v in values(d, name))
    if op == "!=":
        return lambda d: not any(_equal(v, bound) for v in values(d, name))
    return lambda d: any(compare(v, op, bound) for v in values(d, name))


def _equal(value: Any, wanted: Any) -> bool:
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    return value == wanted


def _texty(document: Document, key: str) -> bool:
    try:
        return bool(field_text(document, key))
    except ValueError:
        return False


def _task_error(code: str, message: str) -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "type": "invalid_request",
        "link": f"https://docs.meilisearch.com/errors#{code}",
    }


def _index_view(index: Index) -> dict[str, Any]:
    return {
        "uid": index.uid,
        "primaryKey": index.primary_key,
        "createdAt": "2024-06-01T10:00:00.000000Z",
        "updatedAt": "2024-06-01T10:00:00.000000Z",
    }
