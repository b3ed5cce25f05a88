"""Failover: the breaker opens, fails fast, trials and closes; the chain moves on only safely."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import hub
from hub.capabilities._service import Operation
from hub.capabilities.payments import Money
from hub.errors import (
    CircuitOpen,
    InvalidRequest,
    OutcomeUnknown,
    PaymentDeclined,
    RateLimited,
    Timeout,
    Unavailable,
    UnsupportedFeature,
)
from hub.providers.fake.payments import FakePaymentsProvider
from hub.resilience.failover import Decision, decide
from hub.testing.clock import FakeClock
from tests.test_pipeline import email_section, fake, make_hub, policy, registry_with, send

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


EMAIL = Operation(capability="email", name="send", idempotent=True, idempotency_key="k")
CHARGE = Operation(
    capability="payments", name="charge", idempotent=True, idempotency_key="k", money_moves=True
)


@pytest.mark.parametrize(
    ("op", "error", "decision"),
    [
        (EMAIL, Unavailable("connect refused", provider="a", failover_safe=True), Decision.NEXT),
        (EMAIL, CircuitOpen("open", provider="a", retry_in=1.0), Decision.NEXT),
        (EMAIL, RateLimited("429", provider="a"), Decision.NEXT),
        (EMAIL, UnsupportedFeature("no tags", feature="tags", provider="a"), Decision.NEXT),
        (EMAIL, Unavailable("500", provider="a"), Decision.RAISE),
        (EMAIL, Timeout("read timeout", provider="a"), Decision.RAISE),
        (EMAIL, InvalidRequest("bad"), Decision.RAISE),
        (CHARGE, Unavailable("connect refused", provider="a", failover_safe=True), Decision.NEXT),
        (CHARGE, CircuitOpen("open", provider="a", retry_in=1.0), Decision.NEXT),
        (CHARGE, RateLimited("429", provider="a"), Decision.NEXT),
        (CHARGE, Timeout("read timeout", provider="a"), Decision.UNKNOWN),
        (CHARGE, Unavailable("502 after processing?", provider="a"), Decision.UNKNOWN),
        (CHARGE, RuntimeError("bug while parsing the answer"), Decision.UNKNOWN),
        (CHARGE, PaymentDeclined("no", provider="a", decline_code="card_declined"), Decision.RAISE),
        (CHARGE, InvalidRequest("bad amount"), Decision.RAISE),
    ],
)
def test_only_errors_that_prove_no_effect_move_down_the_chain(
    op: Operation, error: Exception, decision: Decision
) -> None:
    assert decide(op, error) is decision


# -- breaker, then failover -------------------------------------------------------------------


BREAKER = {"consecutive_failures": 3, "reset_timeout": 10.0, "half_open_calls": 1}


async def test_breaker_opens_fails_fast_trials_after_reset_and_closes_on_success() -> None:
    clock, metrics = FakeClock(), CollectorRegistry()
    email = email_section(retry={"attempts": 1}, circuit_breaker=BREAKER)
    async with make_hub(clock=clock, metrics=metrics, email=email) as h:
        provider = fake(h)
        provider.fail_next(3)
        for _ in range(3):
            with pytest.raises(Unavailable):
                await send(h)
        assert _circuit(metrics) == 2  # open

        with pytest.raises(CircuitOpen) as caught:
            await send(h)
        assert len(provider.faults.calls) == 3  # failed fast: the vendor was not called
        assert 0 < caught.value.retry_in <= 10.0

        clock.advance(10.0)
        receipt = await send(h)  # the trial call
        assert receipt.provider == "fake"
        assert _circuit(metrics) == 0  # closed again
        await send(h)
    assert len(provider.faults.calls) == 5


async def test_an_open_breaker_fails_over_to_the_next_provider() -> None:
    metrics = CollectorRegistry()
    email = email_section("fake", "backup", retry={"attempts": 1}, circuit_breaker=BREAKER)
    async with make_hub(
        metrics=metrics, email=email, registry=registry_with("email", "backup")
    ) as h:
        primary, backup = fake(h), fake(h, "backup")
        primary.fail_next(3)
        for _ in range(3):  # Unavailable (a 5xx) may have had an effect: no failover yet
            with pytest.raises(Unavailable):
                await send(h)
        receipt = await send(h, subject="delivered anyway")
    assert receipt.provider == "backup"
    assert [m.subject for m in backup.outbox] == ["delivered anyway"]
    assert len(primary.faults.calls) == 3
    failovers = metrics.get_sample_value(
        "hub_failovers_total",
        {"capability": "email", "from_provider": "fake", "to_provider": "backup"},
    )
    assert failovers == 1


async def test_rate_limited_after_its_retries_fails_over() -> None:
    email = email_section("fake", "backup", retry={"attempts": 2})
    async with make_hub(email=email, registry=registry_with("email", "backup")) as h:
        fake(h).faults.fail_next(2, lambda p: RateLimited("429", provider=p))
        receipt = await send(h)
    assert receipt.provider == "backup"
    assert receipt.attempts == 3


async def test_email_does_not_fail_over_on_an_error_that_may_have_had_an_effect() -> None:
    email = email_section("fake", "backup", retry={"attempts": 2})
    async with make_hub(email=email, registry=registry_with("email", "backup")) as h:
        fake(h).fail_next(2)
        with pytest.raises(Unavailable):
            await send(h)
        assert fake(h, "backup").faults.calls == []


# -- payments: never charge twice -------------------------------------------------------------


def payments_section(**resilience: Any) -> dict[str, Any]:
    return {"providers": ["fake", "backup"], "resilience": policy(**resilience)}


def payments(h: hub.Hub, name: str) -> FakePaymentsProvider:
    provider = h.payments.get_provider(name)
    assert isinstance(provider, FakePaymentsProvider)
    return provider


@pytest.mark.parametrize(
    "error",
    [
        Timeout("read timeout after the request left", provider="fake"),
        Unavailable("502 from the gateway", provider="fake"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_payment_with_an_unknown_outcome_is_never_sent_to_a_second_provider(
    error: Exception,
) -> None:
    registry = registry_with("payments", "backup")
    async with make_hub(registry=registry, payments=payments_section()) as h:
        payments(h, "fake").fail_next(3, error)  # type: ignore[arg-type]
        with pytest.raises(OutcomeUnknown) as caught:
            await h.payments.charge(
                Money(1999, "EUR"), payment_method="pm_card_visa", idempotency_key="order-42"
            )
        assert payments(h, "backup").faults.calls == []
        assert payments(h, "fake").faults.calls == ["charge"] * 3  # retried with the same key
    assert caught.value.idempotency_key == "order-42"
    assert caught.value.provider == "fake"
    assert isinstance(caught.value.__cause__, type(error))


async def test_an_attempt_timeout_on_a_payment_is_an_unknown_outcome() -> None:
    registry = registry_with("payments", "backup")
    section = payments_section(timeout={"attempt": 0.05}, retry={"attempts": 1})
    async with make_hub(registry=registry, payments=section) as h:
        payments(h, "fake").faults.latency = 5.0
        with pytest.raises(OutcomeUnknown) as caught:
            await h.payments.charge(Money(500, "EUR"), payment_method="pm_card_visa")
        assert payments(h, "backup").faults.calls == []
    assert caught.value.idempotency_key  # generated before the first attempt, so retryable


async def test_a_payment_that_provably_never_left_fails_over() -> None:
    registry = registry_with("payments", "backup")
    refused = Unavailable("connection refused", provider="fake", failover_safe=True)
    async with make_hub(registry=registry, payments=payments_section(retry={"attempts": 1})) as h:
        payments(h, "fake").fail_next(1, refused)
        payment = await h.payments.charge(Money(1999, "EUR"), payment_method="pm_card_visa")
        assert len(payments(h, "backup").faults.calls) == 1
    assert payment.provider == "backup"


def _circuit(metrics: CollectorRegistry) -> float | None:
    return metrics.get_sample_value(
        "hub_circuit_state", {"capability": "email", "provider": "fake"}
    )
