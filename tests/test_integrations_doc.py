"""docs/integrations.md is `hub plugins --markdown`: regenerate it when a plugin changes."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from hub.cli._plugins import registry_markdown
from hub.plugins import discover

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "integrations.md"


def _workspace_plugins() -> list[str]:
    return sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())


def test_integrations_page_matches_the_installed_registry() -> None:
    missing = []
    for name in _workspace_plugins():
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    if missing:
        pytest.skip(
            f"not every plugin is installed ({', '.join(missing)}): run uv sync --all-packages"
        )
    expected = registry_markdown(discover()) + "\n"
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/integrations.md is stale: run `uv run hub plugins --markdown > docs/integrations.md`"
    )
