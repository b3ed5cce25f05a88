"""Replay of the documentation-built cassette (mode none): the exact requests, then the answers.

See :mod:`tests.plugins.search.cassette_scenarios` for how it was made and how to re-record.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.testing.cassettes import CassetteTransport
from hub.testing.pytest_plugin import managed_hub
from tests.plugins.search.cassette_scenarios import check, make_hub, run

pytestmark = pytest.mark.anyio


@pytest.mark.cassette("typesense/index_search_delete")
async def test_index_search_delete_replays(hub_cassette: CassetteTransport, tmp_path: Path) -> None:
    async with managed_hub(make_hub("typesense", tmp_path)) as hub:
        outcome = await run(hub)
    check(outcome, "typesense")
    assert hub_cassette.all_played
