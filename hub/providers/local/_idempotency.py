"""Remembered idempotency keys for local providers that have no ledger of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Generic, TypeVar

import anyio
from pydantic import BaseModel

from hub.providers.local._files import atomic_write

M = TypeVar("M", bound=BaseModel)


class KeyLedger(Generic[M]):
    """A small JSON file mapping idempotency key -> the first result, so a retry never repeats."""

    def __init__(self, path: Path, model: type[M]) -> None:
        self._path = path
        self._model = model
        self._lock = anyio.Lock()

    async def _load(self) -> dict[str, object]:
        file = anyio.Path(self._path)
        if not await file.exists():
            return {}
        data: dict[str, object] = json.loads(await file.read_text())
        return data

    async def get(self, key: str) -> M | None:
        async with self._lock:
            found = (await self._load()).get(key)
        return None if found is None else self._model.model_validate(found)

    async def put(self, key: str, value: M) -> None:
        async with self._lock:
            data = await self._load()
            data[key] = value.model_dump(mode="json")
            await atomic_write(self._path, json.dumps(data).encode())
