"""Stripe's form encoding: nested keys in bracket notation, the one encoder every call uses.

``{"metadata": {"order": "42"}, "expand": ["latest_charge"], "confirm": True}`` becomes
``metadata[order]=42&expand[]=latest_charge&confirm=true``. Lists of plain values repeat
``key[]``; lists of objects are indexed (``items[0][price]=…``). ``None`` is left out, so an
optional parameter is simply not sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

__all__ = ["encode", "form_body"]

_Scalar = str | int | float | bool


def encode(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of ``params`` in Stripe's bracket notation, in order."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(key, value, pairs)
    return pairs


def form_body(params: Mapping[str, Any]) -> bytes:
    """``params`` as an ``application/x-www-form-urlencoded`` body."""
    return urlencode(encode(params)).encode("ascii")


def _flatten(name: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out.append((name, "true" if value else "false"))
    elif isinstance(value, int | float | str):
        out.append((name, str(value)))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{name}[{key}]", item, out)
    elif isinstance(value, Sequence):
        if all(isinstance(item, _Scalar) for item in value):
            for item in value:
                _flatten(f"{name}[]", item, out)
        else:
            for index, item in enumerate(value):
                _flatten(f"{name}[{index}]", item, out)
    else:
        raise TypeError(f"cannot form-encode {type(value).__name__} for Stripe parameter {name}")
