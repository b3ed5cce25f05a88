"""Failover: the breaker opens, fails fast, trials and closes; the chain moves on only safely."""

from __future__ import annotations

from typing import Any

import anyio
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
from hub.resilience.policy import FailoverPolicy
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
    assert decide(op, error, FailoverPolicy()) is decision


WIDE = FailoverPolicy(on_unavailable=True, on_timeout=True)


@pytest.mark.parametrize(
    ("op", "error", "decision"),
    [
        (EMAIL, Unavailable("500", provider="a"), Decision.NEXT),
        (EMAIL, Timeout("read timeout", provider="a"), Decision.NEXT),
        (EMAIL, InvalidRequest("bad"), Decision.RAISE),
        (EMAIL, OutcomeUnknown("still running", provider="a", idempotency_key="k"), Decision.RAISE),
        (CHARGE, Unavailable("502 after processing?", provider="a"), Decision.UNKNOWN),
        (CHARGE, Timeout("read timeout", provider="a"), Decision.UNKNOWN),
    ],
)
def test_the_failover_policy_widens_the_rule_except_where_money_moves(
    op: Operation, error: Exception, decision: Decision
) -> None:
    assert decide(op, error, WIDE) is decision


def test_each_switch_covers_only_its_own_error() -> None:
    unavailable, timeout = Unavailable("500", provider="a"), Timeout("slow", provider="a")
    only_unavailable = FailoverPolicy(on_unavailable=True)
    assert decide(EMAIL, unavailable, only_unavailable) is Decision.NEXT
    assert decide(EMAIL, timeout, only_unavailable) is Decision.RAISE
    only_timeout = FailoverPolicy(on_timeout=True)
    assert decide(EMAIL, timeout, only_timeout) is Decision.NEXT
    assert decide(EMAIL, unavailable, only_timeout) is Decision.RAISE


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


# -- the failover policy: email and SMS may move on after Unavailable / Timeout ----------------


def server_error(provider: str) -> Unavailable:
    return Unavailable("500 from the vendor", provider=provider, status=500)


def read_timeout(provider: str) -> Timeout:
    return Timeout("no answer after the request left", provider=provider)


CHAIN = registry_with("email", "backup")


async def test_by_default_a_500_does_not_fail_over() -> None:
    email = email_section("fake", "backup", retry={"attempts": 1})
    async with make_hub(email=email, registry=CHAIN) as h:
        fake(h).faults.fail_next(1, server_error)
        with pytest.raises(Unavailable):
            await send(h)
        assert fake(h, "backup").faults.calls == []


async def test_on_unavailable_fails_over_after_the_retries() -> None:
    metrics = CollectorRegistry()
    email = email_section(
        "fake", "backup", retry={"attempts": 2}, failover={"on_unavailable": True}
    )
    async with make_hub(email=email, registry=CHAIN, metrics=metrics) as h:
        fake(h).faults.fail_next(2, server_error)
        receipt = await send(h, subject="via backup")
        assert [m.subject for m in fake(h, "backup").outbox] == ["via backup"]
    assert (receipt.provider, receipt.attempts) == ("backup", 3)
    labels = {"capability": "email", "from_provider": "fake", "to_provider": "backup"}
    assert metrics.get_sample_value("hub_failovers_total", labels) == 1


async def test_on_timeout_fails_over_and_on_unavailable_alone_does_not() -> None:
    wide = email_section("fake", "backup", retry={"attempts": 1}, failover={"on_timeout": True})
    async with make_hub(email=wide, registry=CHAIN) as h:
        fake(h).faults.fail_next(1, read_timeout)
        assert (await send(h)).provider == "backup"
    narrow = email_section(
        "fake", "backup", retry={"attempts": 1}, failover={"on_unavailable": True}
    )
    async with make_hub(email=narrow, registry=CHAIN) as h:
        fake(h).faults.fail_next(1, read_timeout)
        with pytest.raises(Timeout):
            await send(h)


async def test_the_switch_is_read_from_the_provider_that_failed() -> None:
    switch = {"resilience": {"failover": {"on_unavailable": True}}}
    on_backup = {**email_section("fake", "backup", retry={"attempts": 1}), "backup": switch}
    async with make_hub(email=on_backup, registry=CHAIN) as h:
        fake(h).faults.fail_next(1, server_error)
        with pytest.raises(Unavailable):
            await send(h)
    on_primary = {**email_section("fake", "backup", retry={"attempts": 1}), "fake": switch}
    async with make_hub(email=on_primary, registry=CHAIN) as h:
        fake(h).faults.fail_next(1, server_error)
        assert (await send(h)).provider == "backup"


async def test_the_switch_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_EMAIL__PROVIDERS", "fake,backup")
    monkeypatch.setenv("HUB_EMAIL__DEFAULT_FROM", "shop@example.com")
    monkeypatch.setenv("HUB_EMAIL__RESILIENCE__RETRY__ATTEMPTS", "1")
    monkeypatch.setenv("HUB_EMAIL__RESILIENCE__FAILOVER__ON_UNAVAILABLE", "true")
    async with hub.Hub.from_settings(
        env="test", registry=CHAIN, clock=FakeClock(), metrics_registry=CollectorRegistry()
    ) as h:
        assert h.settings.email.resilience.failover.on_unavailable is True
        fake(h).faults.fail_next(1, server_error)
        assert (await send(h)).provider == "backup"


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


async def test_a_payment_never_fails_over_on_an_unknown_outcome_whatever_the_policy() -> None:
    registry = registry_with("payments", "backup")
    section = payments_section(failover={"on_unavailable": True, "on_timeout": True})
    async with make_hub(registry=registry, payments=section) as h:
        payments(h, "fake").faults.fail_next(3, server_error)
        with pytest.raises(OutcomeUnknown) as caught:
            await h.payments.charge(
                Money(1999, "EUR"), payment_method="pm_card_visa", idempotency_key="order-7"
            )
        assert payments(h, "backup").faults.calls == []
    assert (caught.value.provider, caught.value.idempotency_key) == ("fake", "order-7")


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


# -- a concurrent caller with the same key ----------------------------------------------------


async def test_a_same_key_caller_outwaited_gets_outcome_unknown_naming_the_provider() -> None:
    registry = registry_with("email", "forgetful", features=frozenset())
    email = {**email_section(idempotency={"wait": 1.0}), "provider": "forgetful"}
    async with make_hub(registry=registry, email=email) as h:
        fake(h, "forgetful").faults.latency = 0.2  # the first call is still running ...
        outcomes: list[object] = []

        async def first() -> None:
            outcomes.append(await send(h, idempotency_key="order-9"))

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            await anyio.sleep(0.05)
            with pytest.raises(OutcomeUnknown) as caught:  # ... after 1 s of (fake) waiting
                await send(h, idempotency_key="order-9")
        assert fake(h, "forgetful").faults.calls == ["send"]
    assert caught.value.provider == "forgetful"
    assert caught.value.idempotency_key == "order-9"
    assert "still running" in str(caught.value)
    assert [getattr(r, "provider", None) for r in outcomes] == ["forgetful"]


def _circuit(metrics: CollectorRegistry) -> float | None:
    return metrics.get_sample_value(
        "hub_circuit_state", {"capability": "email", "provider": "fake"}
    )
