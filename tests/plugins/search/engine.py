"""What the search vendors' documented-behaviour stand-ins share: documents, BM25, filter tokens.

Each vendor's stand-in (``tests/plugins/<vendor>/standin.py``) parses the requests the plugin
sends — its JSON shapes and its filter *syntax* — and answers with the documented JSON. They
rank the same way: BM25 over the searched fields, computed by the fake provider's scorer from
``hub.capabilities.search.tokenize`` (reused, not copied), every query word required.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from hub.capabilities.search import IndexSchema, tokenize
from hub.providers.fake.search import _bm25, _Index

Document = dict[str, Any]
Predicate = Callable[[Document], bool]


def rank(
    documents: Mapping[str, Document], fields: Sequence[str], query: str, keep: Predicate
) -> list[tuple[str, float]]:
    """``(id, score)`` of the documents that hold every word of ``query`` in ``fields`` and pass
    ``keep``, best first, ties in insertion order; every document when there are no words."""
    words = tokenize(query)
    index = _Index(IndexSchema(name="standin", searchable=tuple(fields) or ("id",)))
    entries = {doc_id: index.entry(doc, lenient=True) for doc_id, doc in documents.items()}
    count = len(entries)
    average = sum(e.length for e in entries.values()) / count if count else 0.0
    having = {w: sum(1 for e in entries.values() if w in e.terms) for w in set(words)}
    scored: list[tuple[float, int, str]] = []
    for order, (doc_id, entry) in enumerate(entries.items()):
        if not keep(documents[doc_id]):
            continue
        if not words:
            scored.append((0.0, order, doc_id))
        elif all(word in entry.terms for word in words):
            scored.append((_bm25(words, entry, having, count, average), order, doc_id))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [(doc_id, score) for score, _, doc_id in scored]


def values(document: Mapping[str, Any], name: str) -> list[Any]:
    """What a field offers to a filter: a list's elements, or the value itself."""
    if name not in document or document[name] is None:
        return []
    value = document[name]
    return list(value) if isinstance(value, list) else [value]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare(value: Any, op: str, bound: Any) -> bool:
    """``value op bound`` for numbers (and, where a vendor allows, strings) of one kind."""
    if is_number(bound) != is_number(value) or isinstance(value, bool):
        return False
    return {
        ">": value > bound,
        ">=": value >= bound,
        "<": value < bound,
        "<=": value <= bound,
        "=": value == bound,
        "!=": value != bound,
    }[op]


# -- a tokenizer for the vendors' filter strings ------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | number | op | punct
    text: str
    value: Any = None


class FilterSyntaxError(ValueError):
    """The filter string is not in the vendor's syntax."""


def tokens(text: str, rules: Iterable[tuple[str, str]]) -> list[Token]:
    """Split ``text`` with ``(kind, regex)`` rules tried in order; whitespace skipped."""
    compiled = [(kind, re.compile(pattern)) for kind, pattern in rules]
    found: list[Token] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        for kind, pattern in compiled:
            match = pattern.match(text, position)
            if match:
                found.append(_token(kind, match.group(0)))
                position = match.end()
                break
        else:
            raise FilterSyntaxError(f"unexpected {text[position : position + 10]!r} at {position}")
    return found


def _token(kind: str, text: str) -> Token:
    if kind == "number":
        number = float(text)
        return Token(kind, text, int(number) if number.is_integer() and "." not in text else number)
    if kind == "string":
        quote, inner = text[0], text[1:-1]
        return Token(kind, text, re.sub(r"\\(.)", r"\1", inner) if quote != "`" else inner)
    return Token(kind, text)


class Cursor:
    """Reading tokens one at a time, for the small recursive-descent parsers."""

    def __init__(self, found: list[Token]) -> None:
        self.found = found
        self.at = 0

    def peek(self) -> Token | None:
        return self.found[self.at] if self.at < len(self.found) else None

    def take(self, *texts: str) -> Token:
        token = self.peek()
        if token is None or (texts and token.text.upper() not in texts):
            raise FilterSyntaxError(f"expected {' or '.join(texts) or 'more'}, got {token}")
        self.at += 1
        return token

    def accept(self, *texts: str) -> bool:
        token = self.peek()
        if token is not None and token.text.upper() in texts:
            self.at += 1
            return True
        return False

    def value(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        if token.text in ("true", "false"):
            return token.text == "true"
        if token.kind == "word":
            return token.text
        raise FilterSyntaxError(f"expected a value, got {token.text!r}")


# -- the stand-in base: request log, injected failures ------------------------------------------


@dataclass
class StandIn:
    """Base of the stand-ins: every request kept; scripted failures answered first."""

    requests: list[httpx.Request] = field(default_factory=list)
    failures: list[httpx.Response] = field(default_factory=list)

    def fail_next(
        self, status: int, body: Any, *, times: int = 1, headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and the JSON ``body``."""
        for _ in range(times):
            self.failures.append(httpx.Response(status, json=body, headers=headers))

    def clear(self) -> None:
        self.failures.clear()

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.failures:
            return self.failures.pop(0)
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    def bodies(self, method: str, path_suffix: str) -> list[Any]:
        """The JSON bodies sent with ``method`` to paths ending in ``path_suffix``."""
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == method and r.url.path.endswith(path_suffix) and r.content
        ]
