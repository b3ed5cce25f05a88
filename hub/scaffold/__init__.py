"""``hub plugin new``: write a plugin package that installs, registers and runs its tests.

The files come from ``templates/`` (``string.Template``, ``$name`` placeholders); a provider's
methods come from ``templates/operations/<capability>.tmpl``. The package is written to a
temporary directory beside the target and renamed into place, so it appears whole or not at all.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import textwrap
import uuid
from importlib import resources
from pathlib import Path
from string import Template

from hub.errors import ConfigurationError

__all__ = ["CAPABILITIES", "create_plugin", "validate_vendor"]

#: Capabilities a plugin can be scaffolded for.
CAPABILITIES = ("email", "sms", "payments", "storage", "search")
_VENDOR = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_METHODS_MARKER = "# -- methods --\n"
_UV_SOURCES = "\n[tool.uv.sources]\nintegration-hub = { workspace = true }\n"


def validate_vendor(vendor: str) -> str:
    """``vendor`` if it can name a provider, a package and an import; else ConfigurationError."""
    if not isinstance(vendor, str) or not _VENDOR.match(vendor) or vendor.endswith("_"):
        raise ConfigurationError(
            f"vendor name {vendor!r} must be a lower-case identifier: a letter, then letters, "
            "digits or '_' (at most 40), e.g. 'sendgrid' or 'acme_mail'"
        )
    if keyword.iskeyword(vendor):
        raise ConfigurationError(f"vendor name {vendor!r} is a Python keyword; pick another name")
    return vendor


def _check_capability(capability: str) -> None:
    if capability not in CAPABILITIES:
        raise ConfigurationError(
            f"unknown capability {capability!r}; choose one of {', '.join(CAPABILITIES)}"
        )


def _check_unregistered(vendor: str, capability: str) -> None:
    from hub.plugins import default_registry

    if (capability, vendor) in default_registry().providers:
        raise ConfigurationError(
            f"a {capability} provider named {vendor!r} is already installed (see `hub "
            "plugins`); pick another vendor name"
        )


def _template(name: str) -> Template:
    text = resources.files(__name__).joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


def _values(vendor: str, capability: str, target: Path) -> dict[str, str]:
    from hub.plugins import default_registry

    features = sorted(default_registry().capability(capability).features)
    operations = _template(f"operations/{capability}.tmpl").template
    imports, _, methods = operations.partition(_METHODS_MARKER)
    return {
        "vendor": vendor,
        "Vendor": "".join(part.capitalize() for part in vendor.split("_")),
        "VENDOR": vendor.upper(),
        "host": vendor.replace("_", "-"),
        "capability": capability,
        "Capability": capability.capitalize(),
        "CAPABILITY": capability.upper(),
        "features": textwrap.fill(
            ", ".join(features) or "(none)",
            width=99,
            initial_indent=" " * 12 + "#   ",
            subsequent_indent=" " * 12 + "#   ",
        ),
        "imports": imports.rstrip("\n"),
        "methods": methods.rstrip("\n"),
        "uv_sources": _UV_SOURCES if _in_uv_workspace(target) else "",
    }


def _in_uv_workspace(target: Path) -> bool:
    """Whether ``target`` lands in ``plugins/`` of a uv workspace (like the hub's own)."""
    root = target.parent.parent / "pyproject.toml"
    return (
        target.parent.name == "plugins"
        and root.is_file()
        and "[tool.uv.workspace]" in root.read_text(encoding="utf-8")
    )


def _files(vendor: str) -> dict[str, str]:
    """Template name -> path in the package."""
    return {
        "pyproject.toml.tmpl": "pyproject.toml",
        "README.md.tmpl": "README.md",
        "__init__.py.tmpl": f"hub_{vendor}/__init__.py",
        "settings.py.tmpl": f"hub_{vendor}/settings.py",
        "provider.py.tmpl": f"hub_{vendor}/provider.py",
        "test.py.tmpl": f"tests/test_{vendor}.py",
    }


def create_plugin(
    vendor: str, capability: str, directory: str | os.PathLike[str] = "plugins"
) -> Path:
    """Write ``<directory>/hub-<vendor>/`` for a ``capability`` provider; return its path.

    Refuses an existing target (nothing is overwritten), an invalid vendor name, an unknown
    capability and a provider name that is already installed.
    """
    validate_vendor(vendor)
    _check_capability(capability)
    target = Path(directory).resolve() / f"hub-{vendor}"
    if target.exists():
        raise ConfigurationError(f"{target} already exists; remove it or pass another --directory")
    _check_unregistered(vendor, capability)
    values = _values(vendor, capability, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".hub-{vendor}.{uuid.uuid4().hex[:8]}.tmp"
    staging.mkdir()
    try:
        for template, relative in _files(vendor).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            text = _template(template).substitute(values)
            path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        (staging / f"hub_{vendor}" / "py.typed").write_text("", encoding="utf-8")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
