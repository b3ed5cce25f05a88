"""``hub plugin new``: the scaffolded package installs for real, registers, and its tests say
what to implement."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import pytest
import typer
from typer.testing import CliRunner

from hub.cli._plugin_new import register
from hub.errors import ConfigurationError
from hub.scaffold import CAPABILITIES, create_plugin, validate_vendor

ROOT = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no HUB_* settings, no vendor keys."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HUB_") and not k.endswith("_API_KEY") and k != "PYTHONPATH"
    }
    return {**env, "HUB_RECORD_MODE": "none", **extra}


def install(packages: list[Path], site: Path) -> None:
    """``uv pip install --no-deps --target site`` (hatchling from uv's cache, else PyPI)."""
    command = [
        "uv", "pip", "install", "--no-deps", "--python", sys.executable,
        "--target", str(site), *map(str, packages),
    ]  # fmt: skip
    done = subprocess.run([*command, "--offline"], capture_output=True, text=True, check=False)
    if done.returncode != 0:  # hatchling not cached yet: let uv fetch it
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"installing the scaffolded plugins failed:\n{done.stderr}"


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One plugin per capability under plugins/, installed into a private site directory."""
    root = tmp_path_factory.mktemp("scaffold")
    packages = [create_plugin(f"acme_{c}", c, root / "plugins") for c in CAPABILITIES]
    site = root / "site"
    install(packages, site)
    return root / "plugins", site


def test_scaffold_writes_a_complete_package(scaffolded: tuple[Path, Path]) -> None:
    plugins, _ = scaffolded
    package = plugins / "hub-acme_email"
    files = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "hub_acme_email/__init__.py",
        "hub_acme_email/provider.py",
        "hub_acme_email/py.typed",
        "hub_acme_email/settings.py",
        "pyproject.toml",
        "tests/test_acme_email.py",
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points."hub.plugins"]\nacme_email = "hub_acme_email"' in pyproject
    assert 'build-backend = "hatchling.build"' in pyproject
    assert '"integration-hub' in pyproject
    provider = (package / "hub_acme_email" / "provider.py").read_text()
    assert "class AcmeEmailProvider(HttpProvider):" in provider
    settings = (package / "hub_acme_email" / "settings.py").read_text()
    assert "api_key: SecretStr" in settings
    assert "base_url: str" in settings


def test_installed_plugin_is_listed_by_hub_plugins(scaffolded: tuple[Path, Path]) -> None:
    _, site = scaffolded
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(PYTHONPATH=str(site)),
        cwd=site,
    )
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    plugins = {p["name"]: p for p in listing["plugins"]}
    for capability in CAPABILITIES:
        record = plugins[f"acme_{capability}"]
        assert record["status"] == "ok", record["error"]
        assert record["distribution"] == f"hub-acme_{capability}"
        assert record["providers"] == [{"capability": capability, "name": f"acme_{capability}"}]
    (email,) = [p for p in listing["providers"] if p["name"] == "acme_email"]
    assert email["env_vars"] == {"api_key": "ACME_EMAIL_API_KEY"}
    assert {field["name"] for field in email["settings"]} >= {"api_key", "base_url"}


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_generated_tests_fail_saying_what_to_implement(
    scaffolded: tuple[Path, Path], capability: str, tmp_path: Path
) -> None:
    plugins, site = scaffolded
    package = plugins / f"hub-acme_{capability}"
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", "tests"],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(PYTHONPATH=str(site)),
        cwd=package,
    )
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    cases = list(ET.parse(report).iter("testcase"))  # noqa: S314  # our own report
    problems = [
        (case, child) for case in cases for child in case if child.tag in ("failure", "error")
    ]
    assert len(cases) > 10, "the whole conformance suite is collected"
    assert problems, "an unimplemented provider cannot pass its conformance suite"
    for case, child in problems:
        text = f"{child.get('message', '')}\n{child.text or ''}"
        assert f"implement acme_{capability}'s " in text, (case.get("name"), text[-1500:])
        assert "ModuleNotFoundError" not in text, text[-1500:]
        assert "ImportError" not in text, text[-1500:]
    assert not (package / "cassettes").exists(), "nothing was recorded in replay mode"


def test_generated_code_is_lint_clean(scaffolded: tuple[Path, Path]) -> None:
    plugins, _ = scaffolded
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
         str(ROOT / "pyproject.toml"), str(plugins)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout


def test_cli_creates_the_plugin_and_refuses_to_overwrite(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """The hub command, as far as this test needs it."""

    register(app)
    runner = CliRunner()
    args = ["plugin", "new", "acme", "--capability", "sms", "--directory", str(tmp_path)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert f"created {tmp_path / 'hub-acme'}" in first.output
    assert "HUB_RECORD_MODE=once ACME_API_KEY=" in first.output
    provider = tmp_path / "hub-acme" / "hub_acme" / "provider.py"
    provider.write_text("# my work\n")
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "already exists; remove it or pass another --directory" in again.output
    assert provider.read_text() == "# my work\n"
    bad = runner.invoke(app, ["plugin", "new", "acme", "-c", "fax", "-d", str(tmp_path)])
    assert bad.exit_code == 1
    assert "unknown capability 'fax'; choose one of email, sms" in bad.output


@pytest.mark.parametrize(
    "vendor", ["Acme", "1acme", "acme-mail", "acme mail", "", "a" * 41, "acme_", "class", "_acme"]
)
def test_vendor_names_must_be_lower_case_identifiers(vendor: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="vendor name"):
        create_plugin(vendor, "email", tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("vendor", ["acme", "acme_mail2", "s3"])
def test_good_vendor_names(vendor: str) -> None:
    assert validate_vendor(vendor) == vendor


def test_refuses_a_provider_name_that_is_installed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="already installed"):
        create_plugin("fake", "email", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_plugin_inside_a_uv_workspace_uses_the_workspace_hub(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["plugins/*"]\n')
    inside = create_plugin("acme", "email", tmp_path / "plugins")
    assert "integration-hub = { workspace = true }" in (inside / "pyproject.toml").read_text()
    outside = create_plugin("acme", "email", tmp_path / "elsewhere")
    assert "tool.uv.sources" not in (outside / "pyproject.toml").read_text()


# -- the whole way: scaffold, implement as the guide shows, record, replay ----------------------

ACME_KEY = "acme_test_4f3e2d1c0b9a8f7e"
PROVIDER_HEAD = '''"""Acme email, implemented as docs/writing-a-plugin.md shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from hub.capabilities.email import EmailMessage, EmailReceipt, RecipientResult
from hub.errors import HubError, RateLimited
from hub.http import HttpProvider
from hub_acme.settings import AcmeSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext


'''


def guide_provider() -> str:
    """The provider class of docs/writing-a-plugin.md, with the imports it needs."""
    guide = (ROOT / "docs" / "writing-a-plugin.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)
    (provider,) = [b for b in blocks if b.startswith("class AcmeProvider(HttpProvider):")]
    return PROVIDER_HEAD + provider


class AcmeHandler(BaseHTTPRequestHandler):
    """Acme's API as the guide imagines it: POST /messages, idempotent by key."""

    protocol_version = "HTTP/1.1"
    sent: ClassVar[dict[str, str]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Authorization") != f"Bearer {ACME_KEY}":
            status, body = 401, {"error": {"message": "invalid key", "code": "unauthorized"}}
        else:
            key = self.headers.get("Idempotency-Key") or ""
            message_id = self.sent.setdefault(key, f"msg_{len(self.sent) + 1}")
            status, body = 200, {"id": message_id, "status": "queued", "key_seen": ACME_KEY}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def acme_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), AcmeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_guides_provider_passes_conformance_recorded_then_replayed(tmp_path: Path) -> None:
    package = create_plugin("acme", "email", tmp_path / "plugins")
    (package / "hub_acme" / "provider.py").write_text(guide_provider())
    site = tmp_path / "site"
    install([package], site)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"]
    with acme_server() as url:
        recorded = subprocess.run(
            [*command, "--hub-record-mode=once"],
            capture_output=True,
            text=True,
            check=False,
            cwd=package,
            env=clean_env(
                PYTHONPATH=str(site), ACME_API_KEY=ACME_KEY, HUB_EMAIL__ACME__BASE_URL=url
            ),
        )
        assert recorded.returncode == 0, recorded.stdout[-3000:]
    cassettes = list((package / "cassettes" / "acme").glob("*.json"))
    assert len(cassettes) >= 9, cassettes
    for cassette in cassettes:
        text = cassette.read_text()
        for form in (ACME_KEY, quote(ACME_KEY), base64.b64encode(ACME_KEY.encode()).decode()):
            assert form not in text, f"{cassette.name} holds the key"
    replayed = subprocess.run(  # the server is gone and there is no key
        command,
        capture_output=True,
        text=True,
        check=False,
        cwd=package,
        env=clean_env(PYTHONPATH=str(site), HUB_EMAIL__ACME__BASE_URL=url),
    )
    assert replayed.returncode == 0, replayed.stdout[-3000:]
    assert "passed" in replayed.stdout
