"""The `hub` command as a user runs it: every capability command, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app

pytestmark = pytest.mark.usefixtures("isolated_env")


def hub_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m hub.cli` in a fresh process, as the console script would."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def invoke(*args: str) -> object:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result


def test_demo_prints_a_receipt_per_capability_and_exits_0() -> None:
    result = hub_cli("demo")
    assert result.returncode == 0, result.stderr
    for capability in ("email", "sms", "payments", "storage", "search"):
        assert capability in result.stdout
    assert "local" in result.stdout
    assert Path(".hub/outbox").is_dir()
    assert any(Path(".hub/outbox").glob("*.eml"))
    assert Path(".hub/sms.jsonl").is_file()
    assert Path(".hub/payments.sqlite3").is_file()


def test_plugins_json_lists_local_and_fake_for_every_capability() -> None:
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    pairs = {(p["capability"], p["name"]) for p in data["providers"]}
    for capability in ("email", "sms", "payments", "storage", "search"):
        assert {(capability, "local"), (capability, "fake")} <= pairs


def test_plugins_markdown_is_a_registry_table() -> None:
    result = CliRunner().invoke(app, ["plugins", "--markdown"])
    assert result.exit_code == 0
    assert "| capability | provider | features |" in result.stdout
    assert "| email | **local** |" in result.stdout


def test_doctor_with_unknown_provider_fails_naming_installed_ones() -> None:
    result = hub_cli("doctor", env={"HUB_EMAIL__PROVIDER": "nope"})
    assert result.returncode == 1
    assert "unknown email provider 'nope'" in result.stderr
    assert "fake" in result.stderr
    assert "local" in result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_ok_on_defaults() -> None:
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.stdout


def test_doctor_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "HUB_WEBHOOKS__BUILTIN_SECRETS", '["whsec_c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA="]'
    )
    result = CliRunner().invoke(app, ["doctor"])
    assert "c2VjcmV0LXZhbHVl" not in result.output


def test_email_send_bulk_sends_each_line_and_reports_failures(tmp_path: Path) -> None:
    listing = tmp_path / "subscribers.txt"
    listing.write_text("# spring list\nada@example.com\n\nGrace <grace@example.com>\nnope\n")
    args = ["email", "send-bulk", "-r", str(listing), "--from", "shop@example.com"]
    result = CliRunner().invoke(app, [*args, "-s", "News", "--text", "Hello"])
    assert result.exit_code == 1  # one recipient failed: scripts notice
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["sent"] == 2
    assert [(f["index"], f["email"]) for f in summary["failures"]] == [(2, "nope")]
    assert len(list(Path(".hub/outbox").glob("*.eml"))) == 2

    piped = CliRunner().invoke(
        app, [*args[:2], "-r", "-", "--from", "shop@example.com", "--text", "Hi"], input="b@x.org\n"
    )
    assert piped.exit_code == 0, piped.output
    args = ["email", "send-bulk", "-r", str(tmp_path / "none.txt"), "--text", "x"]
    missing = hub_cli(*args, env={"COLUMNS": "300"})
    assert missing.returncode == 2
    assert "is not a file" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_email_send_and_bad_address_without_traceback() -> None:
    ok = CliRunner().invoke(
        app,
        [
            "email",
            "send",
            "--to",
            "ada@example.com",
            "--from",
            "shop@example.com",
            "-s",
            "Hi",
            "--text",
            "Hello",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["provider"] == "local"
    bad = hub_cli(
        "email", "send", "--to", "not-an-address", "--from", "shop@example.com", "--text", "x"
    )
    assert bad.returncode == 1
    assert "InvalidRequest" in bad.stderr
    assert "not-an-address" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_sms_send_and_non_e164_number() -> None:
    ok = CliRunner().invoke(
        app, ["sms", "send", "--to", "+14155550100", "--body", "Hi", "--from", "+15555550199"]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["to"] == "+14155550100"
    bad = CliRunner().invoke(app, ["sms", "send", "--to", "0415 555", "--body", "Hi"])
    assert bad.exit_code == 1
    assert "+14155550100" in bad.stderr  # the error shows the expected form


def test_payments_flow_from_the_cli() -> None:
    runner = CliRunner()
    charged = runner.invoke(
        app, ["payments", "charge", "--amount", "1999", "--currency", "EUR", "--authorize-only"]
    )
    assert charged.exit_code == 0, charged.output
    payment = json.loads(charged.stdout)
    assert payment["status"] == "authorized"
    captured = runner.invoke(
        app, ["payments", "capture", payment["id"], "--amount", "1500", "--currency", "EUR"]
    )
    assert json.loads(captured.stdout)["status"] == "captured"
    refunded = runner.invoke(
        app, ["payments", "refund", payment["id"], "--amount", "500", "--currency", "EUR"]
    )
    assert refunded.exit_code == 0, refunded.output
    got = runner.invoke(app, ["payments", "get", payment["id"]])
    assert json.loads(got.stdout)["amount_refunded"] == 500
    too_much = runner.invoke(
        app, ["payments", "refund", payment["id"], "--amount", "5000", "--currency", "EUR"]
    )
    assert too_much.exit_code == 1
    assert "refund" in too_much.stderr.lower()
    zero = runner.invoke(app, ["payments", "charge", "--amount", "0", "--currency", "EUR"])
    assert zero.exit_code == 1
    assert "positive" in zero.stderr
    currency = runner.invoke(app, ["payments", "charge", "--amount", "100", "--currency", "XYZ"])
    assert currency.exit_code == 1
    assert "XYZ" in currency.stderr


def test_storage_put_get_ls_url_rm(tmp_path: Path) -> None:
    runner = CliRunner()
    source = tmp_path / "report.txt"
    source.write_bytes(b"quarterly numbers\n" * 1000)
    put = runner.invoke(app, ["storage", "put", "reports/q1.txt", str(source), "--meta", "q=1"])
    assert put.exit_code == 0, put.output
    assert json.loads(put.stdout)["size"] == source.stat().st_size
    listed = runner.invoke(app, ["storage", "ls", "reports/"])
    assert "reports/q1.txt" in listed.stdout
    out = tmp_path / "copy.txt"
    got = runner.invoke(app, ["storage", "get", "reports/q1.txt", "-o", str(out)])
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == source.read_bytes()
    url = runner.invoke(app, ["storage", "url", "reports/q1.txt"])
    assert url.exit_code == 0
    assert url.stdout.startswith("file://")
    bad_key = runner.invoke(app, ["storage", "put", "../escape.txt", str(source)])
    assert bad_key.exit_code == 1
    assert ".." in bad_key.stderr
    removed = runner.invoke(app, ["storage", "rm", "reports/q1.txt"])
    assert removed.exit_code == 0
    missing = runner.invoke(app, ["storage", "get", "reports/q1.txt", "-o", str(out)])
    assert missing.exit_code == 1
    assert "NotFound" in missing.stderr


def test_search_index_and_query(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "\n".join(
            json.dumps(d)
            for d in [
                {"id": "1", "title": "Circuit breakers for vendors", "kind": "guide"},
                {"id": "2", "title": "Retries with jitter", "kind": "guide"},
                {"id": "3", "title": "Breakfast recipes", "kind": "blog"},
            ]
        )
    )
    runner = CliRunner()
    indexed = runner.invoke(
        app, ["search", "index", "kb", str(docs), "--searchable", "title", "--filterable", "kind"]
    )
    assert indexed.exit_code == 0, indexed.output
    found = runner.invoke(app, ["search", "query", "kb", "circuit breakers"])
    assert found.exit_code == 0, found.output
    assert "1 hit(s)" in found.stdout
    filtered = runner.invoke(app, ["search", "query", "kb", "", "--filter", "kind=blog"])
    assert "Breakfast" in filtered.stdout
    assert "Retries" not in filtered.stdout
    bad = runner.invoke(app, ["search", "query", "kb", "x", "--filter", "title=y"])
    assert bad.exit_code == 1
    assert "filterable" in bad.stderr


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    for command in (
        "demo",
        "plugins",
        "doctor",
        "serve",
        "email",
        "sms",
        "payments",
        "storage",
        "search",
    ):
        assert command in result.stdout


def test_doctor_in_production_warns_about_unused_capabilities_but_passes() -> None:
    """An app that only sends email is healthy; the other capabilities are merely reported."""
    result = hub_cli(
        "doctor",
        env={"HUB_ENV": "production", "HUB_EMAIL__PROVIDER": "nope_in_prod"},
    )
    assert result.returncode == 1  # the configured capability is broken: a problem
    healthy = CliRunner().invoke(app, ["doctor"], env={"HUB_ENV": "production"})
    assert healthy.exit_code == 0, healthy.output
    assert "not configured" in healthy.output
    assert "HUB_PAYMENTS__PROVIDER" in healthy.output
