"""A stand-in for Typesense, answering as its API reference documents, over memory.

Routes: ``GET|PATCH /collections/{name}``, ``POST /collections``,
``POST /collections/{name}/documents/import`` (JSONL in, one JSON line out per document),
``GET /collections/{name}/documents/search`` and ``DELETE /collections/{name}/documents``
(by ``filter_by``). Field types are checked as Typesense does (``auto`` takes the type of the
first value it sees, ``string*`` takes strings or lists of strings, numbers coerced under
``dirty_values=coerce_or_reject``). Errors are ``{"message": ...}``.

The filter parser reads ``field:=value``, ``field:value``, ``field:=[a, b]``,
``field:>=n`` (and ``>``, ``<``, ``<=``), ``&&``, ``||`` and parentheses, values bare or in
backticks; the search takes ``offset``/``limit`` (or ``page``/``per_page``), 250 at most.
"""

from __future__ import annotations

import json
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

API_KEY = "typesense-admin-key-for-tests"
BASE_URL = "http://typesense.test:8108"
_TYPES = {
    "string",
    "int32",
    "int64",
    "float",
    "bool",
    "string[]",
    "int64[]",
    "float[]",
    "auto",
    "string*",
}
_RULES = [
    ("string", r"`[^`]*`"),
    ("number", r"-?\d+(?:\.\d+)?(?![A-Za-z_-])"),
    ("op", r":=|:>=|:<=|:>|:<|:!=|:"),
    ("punct", r"&&|\|\||[\[\](),]"),
    ("word", r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"),
]


def message(status: int, text: str) -> httpx.Response:
    return httpx.Response(status, json={"message": text})


@dataclass
class Collection:
    name: str
    fields: list[dict[str, Any]]
    documents: dict[str, Document] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fields": self.fields,
            "num_documents": len(self.documents),
            "default_sorting_field": "",
            "created_at": 1717236000,
        }

    def spec(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["name"] == name), None)


@dataclass
class TypesenseStandIn(StandIn):
    api_key: str | None = API_KEY
    collections: dict[str, Collection] = field(default_factory=dict)

    def route(self, request: httpx.Request) -> httpx.Response:
        if self.api_key is not None and request.headers.get("x-typesense-api-key") != self.api_key:
            return message(401, "Forbidden - a valid `x-typesense-api-key` header must be sent.")
        parts = request.url.path.strip("/").split("/")
        method = request.method
        if parts == ["collections"] and method == "POST":
            return self._create(json.loads(request.content))
        if parts[:1] != ["collections"] or len(parts) < 2:
            return message(404, "Not Found")
        collection = self.collections.get(parts[1])
        if collection is None:
            return message(404, "Not Found")
        rest = parts[2:]
        params = request.url.params
        if rest == [] and method == "GET":
            return httpx.Response(200, json=collection.view())
        if rest == [] and method == "PATCH":
            return self._alter(collection, json.loads(request.content))
        if rest == ["documents", "import"] and method == "POST":
            return self._import(collection, request.content.decode(), params)
        if rest == ["documents", "search"] and method == "GET":
            return self._search(collection, params)
        if rest == ["documents"] and method == "DELETE":
            try:
                keep = _parse(params.get("filter_by", ""), collection)
            except FilterSyntaxError as exc:
                return message(400, str(exc))
            doomed = [i for i, d in collection.documents.items() if keep(d)]
            for doc_id in doomed:
                del collection.documents[doc_id]
            return httpx.Response(200, json={"num_deleted": len(doomed)})
        return message(404, "Not Found")

    # -- collections --------------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        name = body["name"]
        if name in self.collections:
            return message(409, f"A collection with name `{name}` already exists.")
        problem = _bad_fields(body.get("fields", []))
        if problem:
            return message(400, problem)
        self.collections[name] = Collection(name, [_field(f) for f in body["fields"]])
        return httpx.Response(201, json=self.collections[name].view())

    def _alter(self, collection: Collection, body: dict[str, Any]) -> httpx.Response:
        for change in body.get("fields", []):
            if change.get("drop"):
                collection.fields = [f for f in collection.fields if f["name"] != change["name"]]
        added = [f for f in body.get("fields", []) if not f.get("drop")]
        problem = _bad_fields(added)
        if problem:
            return message(400, problem)
        collection.fields += [_field(f) for f in added]
        return httpx.Response(200, json={"fields": body.get("fields", [])})

    # -- documents ----------------------------------------------------------------------------

    def _import(self, collection: Collection, text: str, params: Any) -> httpx.Response:
        if params.get("action", "create") not in ("create", "upsert", "update", "emplace"):
            return message(400, "The `action` parameter must be create, upsert, update or emplace.")
        lines = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except ValueError:
                lines.append({"success": False, "error": "Bad JSON.", "document": line})
                continue
            problem = self._check(collection, document)
            if problem:
                lines.append({"success": False, "error": problem, "document": line})
                continue
            collection.documents[document["id"]] = document
            lines.append({"success": True})
        return httpx.Response(200, text="\n".join(json.dumps(line) for line in lines))

    def _check(self, collection: Collection, document: Document) -> str | None:
        if not isinstance(document.get("id"), str):
            return "Document's `id` field should be a string."
        for spec in collection.fields:
            name = spec["name"]
            if name not in document or document[name] is None:
                if not spec.get("optional"):
                    return f"Field `{name}` has been declared in the schema, but is not found."
                continue
            value = document[name]
            if spec["type"] == "string*":
                items = value if isinstance(value, list) else [value]
                if any(isinstance(v, dict | list) for v in items):
                    return f"Field `{name}` must be a string or an array of strings."
                continue
            if spec["type"] == "auto":
                spec["type"] = _detect(value)
            if _detect(value) != spec["type"]:
                return f"Field `{name}` must be {_article(spec['type'])}."
        return None

    def _search(self, collection: Collection, params: Any) -> httpx.Response:
        q = params.get("q")
        if q is None:
            return message(400, "Parameter `q` is required.")
        query_by = [f for f in params.get("query_by", "").split(",") if f]
        if q != "*" and not query_by:
            return message(400, "Parameter `query_by` is required.")
        for name in query_by:
            spec = collection.spec(name)
            if spec is None or spec["type"] not in ("string", "string[]", "string*"):
                return message(404, f"Could not find a field named `{name}` in the schema.")
        exact = params.get("prefix", "true") == "false" and params.get("num_typos", "2") == "0"
        if q != "*" and not exact:
            return message(400, "stand-in: only exact words (prefix=false, num_typos=0)")
        try:
            keep = _parse(params.get("filter_by", ""), collection)
        except FilterSyntaxError as exc:
            return message(400, str(exc))
        if "offset" in params or "limit" in params:
            offset, limit = int(params.get("offset", 0)), int(params.get("limit", 10))
            page = offset // max(limit, 1) + 1
        else:
            page, limit = int(params.get("page", 1)), int(params.get("per_page", 10))
            offset = (page - 1) * limit
        if limit > 250:
            return message(422, "Only upto 250 hits can be fetched per page.")
        ranked = rank(collection.documents, query_by, "" if q == "*" else q, keep)
        include = [f for f in params.get("include_fields", "").split(",") if f]
        hits = []
        for doc_id, score in ranked[offset : offset + limit]:
            document = collection.documents[doc_id]
            if include:
                document = {k: v for k, v in document.items() if k in include}
            hits.append({"document": document, "highlights": [], "text_match": int(score * 1e6)})
        return httpx.Response(
            200,
            json={
                "facet_counts": [],
                "found": len(ranked),
                "out_of": len(collection.documents),
                "page": page,
                "request_params": {"collection_name": collection.name, "q": q, "per_page": limit},
                "search_time_ms": 1,
                "hits": hits,
            },
        )


def _field(spec: dict[str, Any]) -> dict[str, Any]:
    return {"facet": False, "index": True, "optional": False, "sort": False, **spec}


def _bad_fields(fields: list[dict[str, Any]]) -> str | None:
    for spec in fields:
        if spec.get("type") not in _TYPES:
            return f"Field `{spec.get('name')}` has an invalid data type `{spec.get('type')}`."
    return None


def _detect(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):
        inner = {_detect(v) for v in value} or {"string"}
        return f"{inner.pop()}[]" if len(inner) == 1 else "mixed[]"
    if isinstance(value, str):
        return "string"
    return "object"


def _article(kind: str) -> str:
    names = {"int64": "an int64", "float": "a float", "bool": "a bool", "string": "a string"}
    return names.get(kind, f"an array of {kind[:-2]}" if kind.endswith("[]") else kind)


# -- filter_by ------------------------------------------------------------------------------------


def _parse(text: str, collection: Collection) -> Predicate:
    if not text:
        return lambda _: True
    cursor = Cursor(tokens(text, _RULES))
    predicate = _any(cursor, collection)
    if cursor.peek() is not None:
        raise FilterSyntaxError(f"Could not parse the filter query: unexpected {cursor.peek()}.")
    return predicate


def _any(cursor: Cursor, collection: Collection) -> Predicate:
    parts = [_all(cursor, collection)]
    while cursor.accept("||"):
        parts.append(_all(cursor, collection))
    return lambda d: any(p(d) for p in parts)


def _all(cursor: Cursor, collection: Collection) -> Predicate:
    parts = [_term(cursor, collection)]
    while cursor.accept("&&"):
        parts.append(_term(cursor, collection))
    return lambda d: all(p(d) for p in parts)


def _term(cursor: Cursor, collection: Collection) -> Predicate:
    if cursor.accept("("):
        inner = _any(cursor, collection)
        cursor.take(")")
        return inner
    name = cursor.take().text
    if name != "id" and collection.spec(name) is None:
        raise FilterSyntaxError(f"Could not find a filter field named `{name}` in the schema.")
    op = cursor.take(":=", ":", ":>=", ":<=", ":>", ":<", ":!=").text
    if cursor.accept("["):
        wanted = [_value(cursor)]
        while cursor.accept(","):
            wanted.append(_value(cursor))
        cursor.take("]")
    else:
        wanted = [_value(cursor)]
    if op in (":=", ":"):
        return lambda d: any(_equal(v, w) for v in _of(d, name) for w in wanted)
    if op == ":!=":
        return lambda d: not any(_equal(v, w) for v in _of(d, name) for w in wanted)
    symbol = op[1:]
    return lambda d: any(compare(v, symbol, wanted[0]) for v in _of(d, name))


def _value(cursor: Cursor) -> Any:
    token = cursor.take()
    if token.kind in ("string", "number"):
        return token.value
    if token.text in ("true", "false"):
        return token.text == "true"
    return token.text


def _of(document: Document, name: str) -> list[Any]:
    return values(document, name)


def _equal(value: Any, wanted: Any) -> bool:
    if is_number(value) and isinstance(wanted, str):
        return False
    if isinstance(value, str) and is_number(wanted):
        return value == str(wanted)  # a bare word that looks like a number
    return value == wanted and isinstance(value, bool) == isinstance(wanted, bool)
