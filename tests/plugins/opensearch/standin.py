"""A stand-in for OpenSearch / Elasticsearch, answering as their REST references document.

Routes: ``PUT /{index}`` (``resource_already_exists_exception`` when it exists),
``PUT|GET /{index}/_mapping``, ``POST /_bulk`` (NDJSON ``index``/``delete`` actions, one item
per action, ``refresh=wait_for|true`` makes changes visible at once, ``false`` on the next
:meth:`OpenSearchStandIn.refresh`) and ``POST /{index}/_search`` with the query DSL the plugin
sends: ``bool`` with ``must`` (``match_all`` or ``multi_match`` of type ``cross_fields``, with
``operator``) and ``filter`` (``term``, ``terms``, ``range``), ``from``/``size``,
``track_total_hits`` and ``sort``. Errors are ``{"error": {"type", "reason", ...}, "status"}``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from hub.capabilities.search import tokenize
from tests.plugins.search.engine import Document, Predicate, StandIn, is_number, rank, values

USERNAME = "admin"
PASSWORD = "opensearch-password-for-tests"
BASE_URL = "https://opensearch.test:9200"
_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def failure(status: int, kind: str, reason: str, **extra: Any) -> httpx.Response:
    cause = {"type": kind, "reason": reason, **extra}
    return httpx.Response(
        status, json={"error": {"root_cause": [cause], **cause}, "status": status}
    )


@dataclass
class Index:
    name: str
    mapping: dict[str, Any] = field(default_factory=lambda: {"properties": {}})
    documents: dict[str, Document] = field(default_factory=dict)
    pending: dict[str, Document | None] = field(default_factory=dict)

    def kind(self, name: str) -> str | None:
        base, _, sub = name.partition(".")
        spec = self.mapping["properties"].get(base)
        if spec is None:
            return None
        if sub:
            return spec.get("fields", {}).get(sub, {}).get("type")
        return str(spec.get("type"))

    def learn(self, document: Document) -> str | None:
        """Dynamic mapping of new fields; a reason when a value does not fit its field."""
        properties = self.mapping["properties"]
        for name, value in document.items():
            spec = properties.get(name)
            items = value if isinstance(value, list) else [value]
            if spec is None:
                sample = next((v for v in items if v is not None), None)
                if isinstance(sample, bool):
                    properties[name] = {"type": "boolean"}
                elif isinstance(sample, int):
                    properties[name] = {"type": "long"}
                elif isinstance(sample, float):
                    properties[name] = {"type": "float"}
                elif isinstance(sample, str):
                    properties[name] = {"type": "keyword"}  # the hub's dynamic template
                continue
            if spec.get("type") in ("text", "keyword") and any(isinstance(v, dict) for v in items):
                return f"failed to parse field [{name}] of type [{spec['type']}]"
            if spec.get("type") in ("long", "float") and any(
                v is not None and not is_number(v) for v in items
            ):
                return f"failed to parse field [{name}] of type [{spec['type']}]"
        return None


@dataclass
class OpenSearchStandIn(StandIn):
    username: str = USERNAME
    password: str = PASSWORD
    indexes: dict[str, Index] = field(default_factory=dict)

    def route(self, request: httpx.Request) -> httpx.Response:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return failure(
                401, "security_exception", "missing authentication credentials for REST request"
            )
        parts = request.url.path.strip("/").split("/")
        method = request.method
        if parts == ["_bulk"] and method == "POST":
            return self._bulk(request)
        name, rest = parts[0], parts[1:]
        index = self.indexes.get(name)
        if rest == [] and method == "PUT":
            if index is not None:
                return failure(
                    400,
                    "resource_already_exists_exception",
                    f"index [{name}/Xy12] already exists",
                    index=name,
                )
            self.indexes[name] = Index(name, _mapping(json.loads(request.content)["mappings"]))
            return httpx.Response(
                200, json={"acknowledged": True, "shards_acknowledged": True, "index": name}
            )
        if index is None:
            return failure(404, "index_not_found_exception", f"no such index [{name}]", index=name)
        if rest == ["_mapping"] and method == "PUT":
            update = json.loads(request.content)
            index.mapping["properties"].update(update.get("properties", {}))
            index.mapping["_meta"] = update.get("_meta", index.mapping.get("_meta"))
            return httpx.Response(200, json={"acknowledged": True})
        if rest == ["_mapping"] and method == "GET":
            return httpx.Response(200, json={name: {"mappings": index.mapping}})
        if rest == ["_search"] and method == "POST":
            return self._search(index, json.loads(request.content))
        return failure(
            400, "illegal_argument_exception", f"no handler for {method} {request.url.path}"
        )

    def refresh(self) -> None:
        for index in self.indexes.values():
            for doc_id, document in index.pending.items():
                if document is None:
                    index.documents.pop(doc_id, None)
                else:
                    index.documents[doc_id] = document
            index.pending.clear()

    # -- writes -------------------------------------------------------------------------------

    def _bulk(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("content-type") != "application/x-ndjson":
            return failure(406, "illegal_argument_exception", "Content-Type must be x-ndjson")
        text = request.content.decode()
        if not text.endswith("\n"):
            return failure(
                400,
                "illegal_argument_exception",
                "The bulk request must be terminated by a newline",
            )
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        items: list[dict[str, Any]] = []
        at = 0
        while at < len(lines):
            ((action, meta),) = lines[at].items()
            at += 1
            name, doc_id = meta["_index"], str(meta["_id"])
            if action == "delete":
                index = self.indexes.get(name)
                exists = index is not None and doc_id in _visible(index)
                if index is not None and exists:
                    index.pending[doc_id] = None
                status, result = (200, "deleted") if exists else (404, "not_found")
                items.append(
                    {action: {"_index": name, "_id": doc_id, "status": status, "result": result}}
                )
                continue
            document = lines[at]
            at += 1
            index = self.indexes.setdefault(name, Index(name))  # auto-created, as OpenSearch does
            problem = index.learn(document)
            if problem:
                error = {"type": "mapper_parsing_exception", "reason": problem}
                items.append(
                    {action: {"_index": name, "_id": doc_id, "status": 400, "error": error}}
                )
                continue
            created = doc_id not in _visible(index)
            index.pending[doc_id] = document
            items.append(
                {
                    action: {
                        "_index": name,
                        "_id": doc_id,
                        "status": 201 if created else 200,
                        "result": "created" if created else "updated",
                    }
                }
            )
        if request.url.params.get("refresh", "false") in ("wait_for", "true", ""):
            self.refresh()
        errors = any(next(iter(i.values()))["status"] >= 300 for i in items)
        return httpx.Response(200, json={"took": 3, "errors": errors, "items": items})

    # -- reads --------------------------------------------------------------------------------

    def _search(self, index: Index, body: dict[str, Any]) -> httpx.Response:
        query = body.get("query", {"match_all": {}})
        boolean = query.get("bool", {"must": [query]})
        words, fields = "", list[str]()
        for clause in boolean.get("must", []):
            if "multi_match" in clause:
                spec = clause["multi_match"]
                if spec.get("operator", "or") != "and" or spec.get("type") != "cross_fields":
                    return failure(
                        400, "illegal_argument_exception", "stand-in: cross_fields/and only"
                    )
                words, fields = spec["query"], spec["fields"]
            elif "match_all" not in clause:
                return failure(400, "parsing_exception", f"unknown query {list(clause)}")
        tests = [_clause(index, c) for c in boolean.get("filter", [])]
        ranked = rank(index.documents, fields, words, lambda d: all(t(d) for t in tests))
        tie = next((k for s in body.get("sort", []) for k in s if k != "_score"), None)
        if tie is not None:
            key = tie.split(".")[0]
            ranked.sort(key=lambda item: (-item[1], str(index.documents[item[0]].get(key, ""))))
        start, size = body.get("from", 0), body.get("size", 10)
        if start + size > 10_000:
            return failure(400, "illegal_argument_exception", "Result window is too large")
        hits = [
            {
                "_index": index.name,
                "_id": doc_id,
                "_score": score,
                "_source": index.documents[doc_id],
            }
            for doc_id, score in ranked[start : start + size]
        ]
        total = {"value": len(ranked), "relation": "eq"}
        return httpx.Response(
            200,
            json={
                "took": 2,
                "timed_out": False,
                "hits": {"total": total, "max_score": None, "hits": hits},
            },
        )


def _visible(index: Index) -> dict[str, Document]:
    merged = dict(index.documents)
    for doc_id, document in index.pending.items():
        if document is None:
            merged.pop(doc_id, None)
        else:
            merged[doc_id] = document
    return merged


def _mapping(mappings: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {}, **mappings}


def _clause(index: Index, clause: dict[str, Any]) -> Predicate:
    ((kind, spec),) = clause.items()
    ((target, wanted),) = spec.items()
    name = target.split(".")[0]
    mapped = index.kind(target)
    if kind in ("term", "terms"):
        options = wanted if kind == "terms" else [wanted]
        if mapped == "text":  # a term against analyzed text matches a token
            return lambda d: any(
                str(o).lower() in tokenize(str(v)) for v in values(d, name) for o in options
            )
        return lambda d: any(_same(v, o) for v in values(d, name) for o in options)
    if kind == "range":
        checks = [(_OPS[op], bound) for op, bound in wanted.items()]
        return lambda d: any(
            all(_in_range(v, op, bound) for op, bound in checks) for v in values(d, name)
        )
    raise ValueError(f"unknown filter {kind}")


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    if is_number(value) and is_number(wanted):
        return bool(value == wanted)
    return str(value) == str(wanted)


def _in_range(value: Any, op: str, bound: Any) -> bool:
    if is_number(bound):
        if not is_number(value):
            return False
    elif not isinstance(value, str) or not isinstance(bound, str):
        return False
    return {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}[op]
