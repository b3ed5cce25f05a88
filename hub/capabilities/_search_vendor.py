"""What the search vendor plugins share, so each plugin stays mostly mapping.

- :func:`query_words`: the user's query as plain words (``tokenize``), so quotes, ``-``, ``OR``
  or ``*`` never reach a vendor as syntax: every provider ANDs the same words.
- :class:`FilterDialect` + :func:`render_filters`: parsed conditions
  (:mod:`hub.capabilities._filters`) written in a vendor's filter string syntax.
- :func:`prepare_documents` + :func:`index_in_batches` + :func:`index_result`: documents
  checked before they leave (ids, searchable fields), sent in the vendor's batch size, one
  :class:`~hub.capabilities.search.DocumentResult` per document.
- :func:`await_task`: poll a vendor's asynchronous task until it is done, with a deadline.
- :func:`covering_page` and :func:`windows`: offset/limit on APIs that page or cap a request.
- :class:`SchemaCache` and :func:`missing_index`: the index schema a plugin needs for a search
  (searchable fields, filterable fields), learned once per process, and one NotFound for all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from hub.capabilities._filters import AnyOf, Condition, RangeOp, Scalar
from hub.capabilities.search import (
    DeleteResult,
    DocumentResult,
    IndexResult,
    IndexSchema,
    document_ids,
    field_text,
    tokenize,
)
from hub.errors import InvalidRequest, NotFound, ProviderError, Timeout, UnsupportedFeature

if TYPE_CHECKING:
    from hub.resilience.clock import Clock

__all__ = [
    "FilterDialect",
    "Prepared",
    "SchemaCache",
    "await_task",
    "chunked",
    "covering_page",
    "delete_result",
    "escape",
    "index_in_batches",
    "index_result",
    "missing_index",
    "prepare_documents",
    "query_words",
    "render_filters",
    "windows",
]

T = TypeVar("T")


def query_words(query: str) -> str:
    """The query's words joined by spaces: what every vendor is asked for (all of them)."""
    return " ".join(tokenize(query))


# -- filters ----------------------------------------------------------------------------------


def escape(text: str, quote: str = '"', escape_char: str = "\\") -> str:
    """``text`` inside ``quote``, the escape character and the quote escaped."""
    inner = text.replace(escape_char, escape_char * 2).replace(quote, escape_char + quote)
    return f"{quote}{inner}{quote}"


class FilterDialect:
    """How one vendor writes a condition; :func:`render_filters` assembles them.

    Subclasses override :meth:`literal` and, where the vendor's syntax differs from
    ``field = value`` / ``field IN [a, b]`` / ``field >= value``, the other methods.
    """

    #: The vendor's name, for messages.
    vendor: str = "the vendor"
    conjunction: str = " AND "
    #: Whether ``{"gte": "2020-01-01"}`` (a range over strings) can be expressed.
    string_ranges: bool = False
    operators: Mapping[RangeOp, str] = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

    def literal(self, value: Scalar) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return escape(value)
        return repr(value)

    def equal(self, field: str, value: Scalar) -> str:
        return f"{field} = {self.literal(value)}"

    def any_of(self, field: str, values: tuple[Scalar, ...]) -> str:
        return f"{field} IN [{', '.join(self.literal(v) for v in values)}]"

    def compare(self, field: str, op: RangeOp, value: str | int | float) -> str:
        return f"{field} {self.operators[op]} {self.literal(value)}"


def render_filters(
    conditions: Sequence[Condition], dialect: FilterDialect, *, provider: str
) -> str | None:
    """The conditions ANDed in ``dialect``'s syntax; None when there are none."""
    parts: list[str] = []
    for condition in conditions:
        if isinstance(condition, AnyOf):
            values = condition.values
            if len(values) == 1:
                parts.append(dialect.equal(condition.field, values[0]))
            else:
                parts.append(dialect.any_of(condition.field, values))
            continue
        if not condition.numeric and not dialect.string_ranges:
            raise UnsupportedFeature(
                f"filter on {condition.field!r}: {dialect.vendor} compares numbers only in "
                "range filters; use numbers (e.g. a year or a Unix timestamp) instead of strings",
                feature="range_filters",
                provider=provider,
            )
        parts.extend(dialect.compare(condition.field, op, bound) for op, bound in condition.bounds)
    return dialect.conjunction.join(parts) or None


# -- documents --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """Documents split into those to send (by position) and those refused before sending."""

    ids: list[str]
    accepted: list[int]
    refused: dict[int, str] = field(default_factory=dict)


def prepare_documents(
    documents: Sequence[Mapping[str, Any]],
    schema: IndexSchema,
    *,
    check: Callable[[str, Mapping[str, Any]], str | None] | None = None,
) -> Prepared:
    """Ids read (InvalidRequest for a missing or bad one, as the local provider does), each
    searchable field checked, and ``check(id, document)`` asked for vendor limits."""
    ids = document_ids(documents, schema.primary_key)
    accepted: list[int] = []
    refused: dict[int, str] = {}
    for position, (doc_id, document) in enumerate(zip(ids, documents, strict=True)):
        try:
            for name in schema.searchable:
                field_text(document, name)
        except ValueError as exc:
            refused[position] = str(exc)
            continue
        reason = check(doc_id, document) if check is not None else None
        if reason is not None:
            refused[position] = reason
            continue
        accepted.append(position)
    return Prepared(ids, accepted, refused)


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


async def index_in_batches(
    prepared: Prepared,
    size: int,
    send: Callable[[list[int]], Awaitable[Mapping[int, str]]],
) -> dict[int, str]:
    """Send the accepted positions ``size`` at a time, in order; ``send(positions)`` returns
    the vendor's refusals by position. All refusals, the ones made here included."""
    failures = dict(prepared.refused)
    for batch in chunked(prepared.accepted, size):
        failures.update(await send(batch))
    return failures


def index_result(
    prepared: Prepared, failures: Mapping[int, str], *, provider: str, index: str, raw: Any = None
) -> IndexResult:
    """One result per document, in the order given."""
    results = [
        DocumentResult(
            position=position, id=doc_id, ok=position not in failures, error=failures.get(position)
        )
        for position, doc_id in enumerate(prepared.ids)
    ]
    return IndexResult(provider=provider, index=index, results=results, raw=raw)


def delete_result(
    ids: Sequence[str], found: set[str], *, provider: str, index: str, raw: Any = None
) -> DeleteResult:
    """Ids that were there are ``deleted``; the others ``missing`` (a repeat counts once)."""
    deleted: list[str] = []
    missing: list[str] = []
    for doc_id in ids:
        if doc_id in found and doc_id not in deleted:
            deleted.append(doc_id)
        else:
            missing.append(doc_id)
    return DeleteResult(provider=provider, index=index, deleted=deleted, missing=missing, raw=raw)


# -- tasks ------------------------------------------------------------------------------------


async def await_task(
    poll: Callable[[], Awaitable[bool]],
    *,
    clock: Clock,
    timeout_seconds: float,
    provider: str,
    what: str,
    interval: float = 0.02,
    max_interval: float = 1.0,
) -> None:
    """Call ``poll()`` until it returns True (it raises when the task failed), backing off
    from ``interval`` to ``max_interval``; Timeout after ``timeout_seconds``."""
    deadline = clock.monotonic() + timeout_seconds
    delay = interval
    while not await poll():
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise Timeout(
                f"{provider}: {what} was not processed within {timeout_seconds:g} s (it may still "
                "be); raise the provider's task_timeout, or set wait_for_tasks = false to "
                "return without waiting",
                provider=provider,
                retryable=True,  # every search operation is an idempotent upsert or delete
                failover_safe=False,
            )
        await clock.sleep(min(delay, remaining))
        delay = min(delay * 2, max_interval)


# -- pages ------------------------------------------------------------------------------------


def windows(offset: int, limit: int, max_size: int) -> list[tuple[int, int]]:
    """``(offset, size)`` requests of at most ``max_size`` hits that cover offset..offset+limit."""
    return [
        (start, min(max_size, offset + limit - start))
        for start in range(offset, offset + limit, max_size)
    ]


def covering_page(
    offset: int, limit: int, *, max_total: int, provider: str, setting: str
) -> tuple[int, int, int]:
    """``(page, per_page, skip)`` of the smallest page (1-based) holding offset..offset+limit,
    for APIs that page instead of taking an offset; slice ``hits[skip:skip + limit]``."""
    end = offset + limit
    for per_page in range(limit, end + 1):
        page = offset // per_page
        if (end - 1) // per_page == page and (page + 1) * per_page <= max_total:
            return page + 1, per_page, offset - page * per_page
    raise InvalidRequest(
        f"{provider} returns at most {max_total} hits per query; offset + limit is {end} (raise "
        f"the provider's {setting} setting, or narrow the query with filters)",
        field="offset",
        provider=provider,
    )


# -- schemas ----------------------------------------------------------------------------------


def missing_index(name: str, *, provider: str, cause: ProviderError | None = None) -> NotFound:
    """The NotFound every search provider raises for an index that does not exist."""
    return NotFound(
        f"no search index {name!r}; create it with hub.search.ensure_index({name!r}, "
        "searchable=[...])",
        provider=provider,
        status=cause.status if cause is not None else 404,
        vendor_code=cause.vendor_code if cause is not None else None,
        raw=cause.raw if cause is not None else None,
    )


class SchemaCache:
    """Index schemas by name: remembered from ``ensure_index``, else loaded from the vendor
    once (a process that only searches, such as ``hub search query``)."""

    def __init__(self) -> None:
        self._known: dict[str, IndexSchema] = {}

    def remember(self, schema: IndexSchema) -> IndexSchema:
        self._known[schema.name] = schema
        return schema

    def forget(self, name: str) -> None:
        self._known.pop(name, None)

    async def get(self, name: str, load: Callable[[str], Awaitable[IndexSchema]]) -> IndexSchema:
        known = self._known.get(name)
        if known is None:
            known = self.remember(await load(name))
        return known
