"""A stand-in for Algolia's Search REST API, answering as its reference documents, over memory.

Routes: ``PUT|GET /1/indexes/{index}/settings`` (a PUT creates the index),
``POST /1/indexes/{index}/batch`` (``addObject``/``updateObject``/``deleteObject``),
``POST /1/indexes/*/objects`` (get records), ``POST /1/indexes/{index}/query`` and
``GET /1/indexes/{index}/task/{taskID}``. Writes answer a ``taskID`` that is ``notPublished``
on the first poll and ``published`` after, applied then. Errors are ``{"message", "status"}``.

The filter parser reads the documented syntax: facet filters ``attr:value`` / ``attr:"value"``
(only on ``attributesForFaceting``; another attribute matches nothing, as in Algolia), numeric
filters ``attr = n`` / ``!=`` / ``>`` / ``>=`` / ``<`` / ``<=`` / ``attr:lo TO hi``, ``AND``,
``OR``, ``NOT`` and parentheses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.plugins.search.engine import (
    Cursor,
    Document,
    FilterSyntaxError,
    Predicate,
    StandIn,
    compare,
    is_number,
    rank,
    tokens,
    values,
)

APP_ID = "LATENCY"
API_KEY = "algolia-admin-key-for-tests"
BASE_URL = f"https://{APP_ID}.algolia.net"
_RULES = [
    ("string", r'"(?:[^"\\]|\\.)*"'),
    ("number", r"-?\d+(?:\.\d+)?(?![A-Za-z_-])"),
    ("op", r">=|<=|!=|=|>|<|:"),
    ("punct", r"[()]"),
    ("word", r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"),
]
_MODIFIER = re.compile(r"^(?:filterOnly|searchable|afterDistinct)\((.*)\)$")


def message(status: int, text: str) -> httpx.Response:
    return httpx.Response(status, json={"message": text, "status": status})


@dataclass
class Index:
    name: str
    records: dict[str, Document] = field(default_factory=dict)
    settings: dict[str, Any] = field(
        default_factory=lambda: {
            "searchableAttributes": None,
            "attributesForFaceting": None,
            "paginationLimitedTo": 1000,
            "hitsPerPage": 20,
        }
    )

    def facets(self) -> set[str]:
        found = set()
        for entry in self.settings.get("attributesForFaceting") or []:
            match = _MODIFIER.match(entry)
            found.add(match.group(1) if match else entry)
        return found


@dataclass
class AlgoliaStandIn(StandIn):
    app_id: str = APP_ID
    api_key: str = API_KEY
    indexes: dict[str, Index] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)

    def route(self, request: httpx.Request) -> httpx.Response:
        headers = request.headers
        if (
            headers.get("x-algolia-application-id") != self.app_id
            or headers.get("x-algolia-api-key") != self.api_key
        ):
            return message(403, "Invalid Application-ID or API key")
        parts = request.url.path.strip("/").split("/")
        body = json.loads(request.content) if request.content else None
        method = request.method
        if parts[:2] != ["1", "indexes"] or len(parts) < 3:
            return message(404, "Not Found")
        if parts[2:] == ["*", "objects"] and method == "POST":
            return self._objects(body["requests"])
        name, rest = parts[2], parts[3:]
        if rest == ["settings"] and method == "PUT":
            return self._task(name, ("settings", body))
        if rest == ["batch"] and method == "POST":
            problem = _bad_batch(body.get("requests", []))
            if problem:
                return message(400, problem)
            return self._task(name, ("batch", body["requests"]), object_ids=True)
        index = self.indexes.get(name)
        if rest[:1] == ["task"] and len(rest) == 2 and method == "GET":
            return self._status(int(rest[1]))
        if index is None:
            return message(404, "Index does not exist")
        if rest == ["settings"] and method == "GET":
            return httpx.Response(200, json=index.settings)
        if rest == ["query"] and method == "POST":
            return self._query(index, body)
        return message(404, "Not Found")

    # -- tasks --------------------------------------------------------------------------------

    def _task(self, name: str, work: Any, *, object_ids: bool = False) -> httpx.Response:
        number = 1000 + len(self.tasks)
        self.tasks[number] = {"index": name, "work": work, "polls": 0, "done": False}
        answer: dict[str, Any] = {"taskID": number, "updatedAt": "2024-06-01T10:00:00.000Z"}
        if object_ids:
            answer["objectIDs"] = [r["body"].get("objectID") for r in work[1]]
        return httpx.Response(200, json=answer)

    def _status(self, number: int) -> httpx.Response:
        task = self.tasks.get(number)
        if task is None:
            return message(404, "Task does not exist")
        task["polls"] += 1
        if task["polls"] > 1:
            self.process(upto=number)
        status = "published" if task["done"] else "notPublished"
        return httpx.Response(200, json={"status": status, "pendingTask": not task["done"]})

    def process(self, upto: int | None = None) -> None:
        for number, task in sorted(self.tasks.items()):
            if upto is not None and number > upto:
                break
            if task["done"]:
                continue
            task["done"] = True
            index = self.indexes.setdefault(task["index"], Index(task["index"]))
            kind, payload = task["work"]
            if kind == "settings":
                index.settings.update(payload)
                continue
            for operation in payload:
                object_id = str(operation["body"]["objectID"])
                if operation["action"] == "deleteObject":
                    index.records.pop(object_id, None)
                else:
                    index.records[object_id] = json.loads(json.dumps(operation["body"]))

    # -- reads --------------------------------------------------------------------------------

    def _objects(self, requests: list[dict[str, Any]]) -> httpx.Response:
        results: list[Any] = []
        for wanted in requests:
            index = self.indexes.get(wanted["indexName"])
            found = index.records.get(wanted["objectID"]) if index else None
            keep = wanted.get("attributesToRetrieve")
            if found is not None and keep:
                found = {k: v for k, v in found.items() if k in keep or k == "objectID"}
            results.append(found)
        return httpx.Response(200, json={"results": results})

    def _query(self, index: Index, body: dict[str, Any]) -> httpx.Response:
        try:
            keep = _parse(body.get("filters") or "", index.facets())
        except FilterSyntaxError as exc:
            return message(400, f"filters: {exc}")
        fields = index.settings.get("searchableAttributes") or sorted(
            {k for r in index.records.values() for k in r if k != "objectID"}
        )
        ranked = rank(index.records, fields, body.get("query", ""), keep)
        cap = index.settings.get("paginationLimitedTo", 1000)
        if "offset" in body:
            offset, length = body["offset"], body.get("length", 20)
            if length > 1000:
                return message(400, "length must be less than or equal to 1000")
        else:
            per_page = body.get("hitsPerPage", index.settings["hitsPerPage"])
            offset, length = body.get("page", 0) * per_page, per_page
        reachable = ranked[:cap]
        hits = []
        for position, (object_id, score) in enumerate(reachable[offset : offset + length]):
            hit = dict(index.records[object_id])
            if body.get("getRankingInfo"):
                hit["_rankingInfo"] = {
                    "nbTypos": 0,
                    "words": len(body.get("query", "").split()),
                    "userScore": position,
                    "bm25": score,
                }
            hits.append(hit)
        return httpx.Response(
            200,
            json={
                "hits": hits,
                "nbHits": len(ranked),
                "offset": offset,
                "length": length,
                "exhaustiveNbHits": True,
                "query": body.get("query", ""),
                "params": "",
                "processingTimeMS": 1,
            },
        )


def _bad_batch(requests: list[dict[str, Any]]) -> str | None:
    for position, operation in enumerate(requests):
        if operation.get("action") not in ("addObject", "updateObject", "deleteObject"):
            return f"invalid action at position {position}"
        if operation["action"] != "addObject" and "objectID" not in operation.get("body", {}):
            return f"objectID is required for {operation['action']} at position {position}"
        if len(json.dumps(operation.get("body", {}))) > 10_000:
            object_id = operation["body"].get("objectID")
            return f"Record at the position {position} objectID={object_id} is too big"
    return None


# -- filters --------------------------------------------------------------------------------------


def _parse(text: str, facets: set[str]) -> Predicate:
    if not text:
        return lambda _: True
    cursor = Cursor(tokens(text, _RULES))
    predicate = _or(cursor, facets)
    if cursor.peek() is not None:
        raise FilterSyntaxError(f"Unexpected token {cursor.peek()}")
    return predicate


def _or(cursor: Cursor, facets: set[str]) -> Predicate:
    parts = [_and(cursor, facets)]
    while cursor.accept("OR"):
        parts.append(_and(cursor, facets))
    return lambda d: any(p(d) for p in parts)


def _and(cursor: Cursor, facets: set[str]) -> Predicate:
    parts = [_not(cursor, facets)]
    while cursor.accept("AND"):
        parts.append(_not(cursor, facets))
    return lambda d: all(p(d) for p in parts)


def _not(cursor: Cursor, facets: set[str]) -> Predicate:
    if cursor.accept("NOT"):
        inner = _not(cursor, facets)
        return lambda d: not inner(d)
    if cursor.accept("("):
        inner = _or(cursor, facets)
        cursor.take(")")
        return inner
    name = cursor.take().text
    op = cursor.take(":", "=", "!=", ">", ">=", "<", "<=").text
    bound = cursor.value()
    if op == ":":
        if cursor.accept("TO"):
            top = cursor.value()
            return lambda d: any(
                compare(v, ">=", bound) and compare(v, "<=", top) for v in values(d, name)
            )
        if name not in facets:
            return lambda _: False  # Algolia: not a facet, so nothing matches
        return lambda d: any(_facet_equal(v, bound) for v in values(d, name))
    if not is_number(bound):
        raise FilterSyntaxError(f"numeric filter on {name} needs a number")
    return lambda d: any(compare(v, op, bound) for v in values(d, name))


def _facet_equal(value: Any, wanted: Any) -> bool:
    if isinstance(value, bool):
        return wanted is value or wanted == str(value).lower()
    return str(value) == str(wanted)
