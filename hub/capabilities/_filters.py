"""Search filters, in one place: parsed and validated once, checked and evaluated the same way.

::

    {"genre": "scifi"}                    equality
    {"genre": ["scifi", "drama"]}         any of
    {"year": {"gte": 1990, "lt": 2000}}   range: gt, gte, lt, lte over numbers or strings

Conditions are ANDed. A field holding a list matches when any element does (``tags``), the
semantics Meilisearch, Elasticsearch and SQLite's ``json_each`` share. A range compares values
of its own kind only (numbers with numbers, strings such as ISO dates with strings), so
``"abc"`` is never "greater than 1990". The fake provider evaluates these with :func:`matches`;
the local provider translates the same conditions to SQL and is tested to agree.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hub.errors import InvalidRequest

__all__ = [
    "COMPARE",
    "RANGE_OPERATORS",
    "AnyOf",
    "Condition",
    "Range",
    "check_filterable",
    "matches",
    "parse_filters",
    "required_features",
]

Scalar = str | int | float | bool
RangeOp = Literal["gt", "gte", "lt", "lte"]
RANGE_OPERATORS: tuple[RangeOp, ...] = ("gt", "gte", "lt", "lte")
#: Each range operator as a Python comparison; the local provider maps the same names to SQL.
COMPARE: dict[RangeOp, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_HINT = (
    "filters look like {'genre': 'scifi'}, {'genre': ['a', 'b']} or "
    "{'year': {'gte': 1990, 'lt': 2000}}"
)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """The field equals one of ``values`` (equality is AnyOf with one value)."""

    field: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Range:
    """The field compares to every bound; ``numeric`` says which kind of value it compares."""

    field: str
    bounds: tuple[tuple[RangeOp, str | int | float], ...]
    numeric: bool


Condition = AnyOf | Range


def _scalar(field: str, value: Any) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest(f"filter on {field!r}: {value!r} is not a finite number", field=field)
    if isinstance(value, str | int | float | bool):
        return value
    raise InvalidRequest(
        f"filter on {field!r}: {value!r} is not a string, number or bool; {_HINT}", field=field
    )


def _range(field: str, spec: Mapping[Any, Any]) -> Range:
    unknown = [op for op in spec if op not in RANGE_OPERATORS]
    if unknown or not spec:
        raise InvalidRequest(
            f"filter on {field!r}: range operators are {', '.join(RANGE_OPERATORS)}, got "
            f"{unknown or 'none'}; {_HINT}",
            field=field,
        )
    bounds: list[tuple[RangeOp, str | int | float]] = []
    kinds = set()
    for op in RANGE_OPERATORS:
        if op in spec:
            value = _scalar(field, spec[op])
            if isinstance(value, bool):
                raise InvalidRequest(
                    f"filter on {field!r}: a range needs numbers or strings", field=field
                )
            kinds.add(isinstance(value, str))
            bounds.append((op, value))
    if len(kinds) > 1:
        raise InvalidRequest(
            f"filter on {field!r}: mix of number and string bounds; use one kind", field=field
        )
    return Range(field, tuple(bounds), numeric=not kinds.pop())


def parse_filters(filters: Mapping[str, Any] | None) -> tuple[Condition, ...]:
    """Validate the caller's filter dict into conditions (InvalidRequest says what and how)."""
    if not filters:
        return ()
    if not isinstance(filters, Mapping):
        raise InvalidRequest(f"filters must be a dict; {_HINT}", field="filters")
    conditions: list[Condition] = []
    for field, spec in filters.items():
        if not isinstance(field, str) or not field:
            raise InvalidRequest(
                f"filter field names must be strings, got {field!r}", field="filters"
            )
        if isinstance(spec, Mapping):
            conditions.append(_range(field, spec))
        elif isinstance(spec, list | tuple | set | frozenset):
            if not spec:
                raise InvalidRequest(
                    f"filter on {field!r}: an any-of list may not be empty", field=field
                )
            conditions.append(AnyOf(field, tuple(_scalar(field, v) for v in spec)))
        else:
            conditions.append(AnyOf(field, (_scalar(field, spec),)))
    return tuple(conditions)


def required_features(conditions: Iterable[Condition]) -> set[str]:
    """The provider features a search with these conditions needs."""
    needed: set[str] = set()
    for condition in conditions:
        needed.add("filters")
        if isinstance(condition, Range):
            needed.add("range_filters")
    return needed


def check_filterable(
    conditions: Iterable[Condition], filterable: Collection[str], *, index: str, provider: str
) -> None:
    """Refuse a filter on a field the index did not declare filterable."""
    for condition in conditions:
        if condition.field not in filterable:
            declared = ", ".join(sorted(filterable)) or "none"
            raise InvalidRequest(
                f"field {condition.field!r} is not filterable in index {index!r} (filterable: "
                f"{declared}); add it to filterable= in ensure_index()",
                field=condition.field,
                provider=provider,
            )


def _values(value: Any) -> list[Any]:
    """What a field offers for comparison: its elements (list), its values (dict) or itself."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _in_range(value: Any, condition: Range) -> bool:
    kind_ok = _is_number(value) if condition.numeric else isinstance(value, str)
    return kind_ok and all(COMPARE[op](value, bound) for op, bound in condition.bounds)


def matches(document: Mapping[str, Any], conditions: Iterable[Condition]) -> bool:
    """Whether ``document`` satisfies every condition."""
    for condition in conditions:
        if condition.field not in document:
            return False
        candidates = [v for v in _values(document[condition.field]) if v is not None]
        if isinstance(condition, AnyOf):
            hit = any(
                not isinstance(v, list | dict) and v == wanted
                for v in candidates
                for wanted in condition.values
            )
        else:
            hit = any(_in_range(v, condition) for v in candidates)
        if not hit:
            return False
    return True
