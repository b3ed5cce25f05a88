"""The public namespace: complete, sorted, lazy, and showing `hub.X` in tracebacks."""

from __future__ import annotations

import subprocess
import sys

import hub


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert hub.__all__ == sorted(hub.__all__)
    for name in hub.__all__:
        assert getattr(hub, name) is not None, name


def test_no_private_or_module_leaks() -> None:
    public = {n for n in dir(hub) if not n.startswith("_")}
    allowed = set(hub.__all__) | {"email", "sms", "payments", "storage", "search", "annotations"}
    # Submodules imported by the test session may appear as attributes; they are not API.
    leaked = {n for n in public - allowed if not isinstance(getattr(hub, n, None), type(sys))}
    assert leaked <= {
        "F",
        "TypeVar",
        "Any",
        "Awaitable",
        "Callable",
        "TYPE_CHECKING",
        "importlib",
        "threading",
    }, leaked


def test_errors_show_as_hub_names() -> None:
    assert hub.CircuitOpen.__module__ == "hub"
    assert issubclass(hub.Timeout, TimeoutError)
    assert issubclass(hub.ConfigurationError, ValueError)
    assert issubclass(hub.RateLimited, hub.ProviderError)


def test_import_hub_is_lazy() -> None:
    code = "import sys, hub; print(sorted(m for m in sys.modules if m.startswith('hub.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
