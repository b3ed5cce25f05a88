"""``hub payments charge|capture|refund|get`` on Stripe and PayPal, from a real subprocess.

Each vendor's documented-shape stub is served on 127.0.0.1 and the provider's ``base_url`` points
at it through the environment, as an operator would configure a proxy; every command is its own
process, so state lives only at the "vendor".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.testing.stub_server import serve
from tests.plugins.paypal.stub import CLIENT_ID, CLIENT_SECRET, PayPalStub
from tests.plugins.stripe.stub import SECRET_KEY, StripeStub

VENDORS: dict[str, tuple[Callable[[], Any], dict[str, str], str]] = {
    "stripe": (StripeStub, {"SECRET_KEY": SECRET_KEY}, "pm_card_visa"),
    "paypal": (
        PayPalStub,
        {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET},
        "vault-visa",
    ),
}
_VENDOR_VARS = ("HUB_", "STRIPE_", "PAYPAL_")


def hub_cli(vendor: str, env: dict[str, str], cwd: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "payments", *args, "--provider", vendor],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_charge_capture_refund_get_from_the_command_line(vendor: str, tmp_path: Path) -> None:
    make_stub, credentials, card = VENDORS[vendor]
    stub = make_stub()
    with serve(stub.handle) as base_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_VENDOR_VARS)}
        prefix = f"HUB_PAYMENTS__{vendor.upper()}__"
        env.update({prefix + name: value for name, value in credentials.items()})
        env.update({prefix + "BASE_URL": base_url, "HUB_ENV": "test", "COLUMNS": "200"})

        held = hub_cli(
            vendor, env, tmp_path, "charge", "--amount", "5000", "--currency", "EUR",
            "--payment-method", card, "--authorize-only", "--idempotency-key", "cli-order-1",
        )  # fmt: skip
        assert (held["provider"], held["status"], held["amount"]) == (vendor, "authorized", 5000)
        assert held["idempotency_key"] == "cli-order-1"
        payment_id = held["id"]

        captured = hub_cli(
            vendor, env, tmp_path, "capture", payment_id, "--amount", "3000", "--currency", "EUR"
        )
        assert (captured["status"], captured["amount_captured"]) == ("captured", 3000)

        refund = hub_cli(
            vendor, env, tmp_path, "refund", payment_id, "--amount", "1000", "--currency", "EUR"
        )
        assert refund["amount"] == 1000
        assert refund["payment_id"] == payment_id
        assert refund["payment"]["status"] == "partially_refunded"

        shown = hub_cli(vendor, env, tmp_path, "get", payment_id)
    assert (shown["id"], shown["status"]) == (payment_id, "partially_refunded")
    assert (shown["amount_captured"], shown["amount_refunded"]) == (3000, 1000)
    assert "raw" not in shown
    assert {r.url.host for r in stub.requests} == {"127.0.0.1"}


def test_a_decline_from_the_command_line_is_a_clear_error(tmp_path: Path) -> None:
    stub = StripeStub()
    with serve(stub.handle) as base_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_VENDOR_VARS)}
        env.update(
            HUB_ENV="test",
            HUB_PAYMENTS__STRIPE__SECRET_KEY=SECRET_KEY,
            HUB_PAYMENTS__STRIPE__BASE_URL=base_url,
        )
        result = subprocess.run(
            [
                sys.executable, "-m", "hub.cli", "payments", "charge", "--amount", "1999",
                "--currency", "EUR", "--payment-method", "pm_card_chargeDeclinedInsufficientFunds",
                "--provider", "stripe",
            ],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert "PaymentDeclined" in result.stderr
    assert "insufficient_funds" in result.stderr
    assert SECRET_KEY not in result.stderr + result.stdout
