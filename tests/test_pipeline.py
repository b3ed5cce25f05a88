"""The resilience pipeline as a caller meets it: stage order, timeouts, limits, idempotency.

The helpers at the top (``make_hub``, ``email_section``, ``registry_with``) are shared by the
retry, failover, observability and chaos tests.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import anyio
import pytest
from prometheus_client import CollectorRegistry

import hub
from hub.capabilities.email import EmailMessage, EmailReceipt
from hub.errors import (
    AuthenticationError,
    InvalidRequest,
    OutcomeUnknown,
    RateLimited,
    Timeout,
    Unavailable,
)
from hub.plugins import Registry, default_registry
from hub.providers.fake.email import FakeEmailProvider
from hub.resilience.clock import SYSTEM_CLOCK, Clock
from hub.resilience.pipeline import counts_as_failure
from hub.testing.clock import FakeClock

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]

SENDER = "Shop <shop@example.com>"
#: Backoff of zero, so tests never sleep between retries (Retry-After goes through the clock).
NO_BACKOFF = {"wait_initial": 0.0, "wait_jitter": 0.0}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def policy(**resilience: Any) -> dict[str, Any]:
    """A resilience section with zero backoff unless the test sets it."""
    return {**resilience, "retry": {**NO_BACKOFF, **resilience.get("retry", {})}}


def email_section(*providers: str, **resilience: Any) -> dict[str, Any]:
    section: dict[str, Any] = {"default_from": SENDER, "resilience": policy(**resilience)}
    if providers:
        section["providers"] = list(providers)
    return section


def registry_with(capability: str, *names: str, features: frozenset[str] | None = None) -> Registry:
    """The built-in registry plus more providers named ``names``, built like the fake one."""
    base = default_registry()
    fake = base.provider(capability, "fake")
    providers = dict(base.providers)
    for name in names:
        providers[(capability, name)] = dataclasses.replace(
            fake, name=name, features=fake.features if features is None else features
        )
    return Registry(dict(base.capabilities), providers, list(base.plugins))


def make_hub(
    *,
    clock: Clock | None = None,
    metrics: CollectorRegistry | None = None,
    registry: Registry | None = None,
    **settings: Any,
) -> hub.Hub:
    settings.setdefault("email", email_section())
    return hub.Hub.from_settings(
        env="test",
        registry=registry,
        clock=clock if clock is not None else FakeClock(),
        metrics_registry=metrics if metrics is not None else CollectorRegistry(),
        **settings,
    )


def fake(h: hub.Hub, name: str = "fake") -> FakeEmailProvider:
    provider = h.email.get_provider(name)
    assert isinstance(provider, FakeEmailProvider)
    return provider


async def send(h: hub.Hub, **fields: Any) -> EmailReceipt:
    fields.setdefault("to", "ada@example.com")
    fields.setdefault("subject", "Hi")
    fields.setdefault("text", "Hello")
    return await h.email.send(**fields)


# -- composition ------------------------------------------------------------------------------


async def test_stages_are_listed_in_design_order() -> None:
    email = email_section(
        concurrency=4,
        rate_limit={"rate": 5, "max_wait": 1},
        timeout={"attempt": 2, "total": 9},
    )
    registry = registry_with("email", "plain", features=frozenset())
    async with make_hub(email={**email, "provider": "plain"}, registry=registry) as h:
        await send(h)
        pipeline = h.email._runtime.executor.pipelines[("email", "plain")]
    assert pipeline.stages() == [
        "idempotency",
        "concurrency(4)",
        "rate_limit(5/s)",
        "deadline(9s)",
        "retry(attempts=3)",
        "circuit_breaker",
        "attempt_timeout(2s)",
    ]
    assert "→" in repr(pipeline)


async def test_switched_off_stages_are_absent() -> None:
    email = email_section(
        timeout={"attempt": None, "total": None}, circuit_breaker={"enabled": False}
    )
    async with make_hub(email=email) as h:
        await send(h)
        pipeline = h.email._runtime.executor.pipelines[("email", "fake")]
    # The fake deduplicates keys itself: no hub idempotency stage either.
    assert pipeline.stages() == ["retry(attempts=3)", "attempt_timeout(none)"]


async def test_stage_objects_are_built_once_per_provider() -> None:
    async with make_hub() as h:
        await send(h)
        first = h.email._runtime.executor.pipelines[("email", "fake")]
        await send(h)
        assert h.email._runtime.executor.pipelines[("email", "fake")] is first


async def test_receipt_reports_the_attempts_it_took() -> None:
    async with make_hub() as h:
        assert (await send(h)).attempts == 1
        fake(h).fail_next(2)
        receipt = await send(h)
    assert receipt.attempts == 3
    assert receipt.provider == "fake"


# -- timeouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_attempt_timeout_raises_a_hub_timeout() -> None:
    email = email_section(timeout={"attempt": 0.05}, retry={"attempts": 1})
    async with make_hub(email=email) as h:
        fake(h).faults.latency = 5.0
        with anyio.fail_after(2), pytest.raises(Timeout) as caught:
            await send(h)
    assert caught.value.provider == "fake"
    assert "0.05s" in str(caught.value)


async def test_a_providers_own_timeout_error_is_not_the_attempt_timeout() -> None:
    """A TimeoutError raised inside the attempt is the provider's, not the hub's timeout."""
    async with make_hub(email=email_section(retry={"attempts": 1})) as h:
        provider = fake(h)

        async def raising(message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
            raise TimeoutError("the vendor library's own timeout")

        provider.send = raising  # type: ignore[method-assign]
        with pytest.raises(TimeoutError, match="vendor library's own"):
            await send(h)


async def test_concurrent_attempts_each_get_their_whole_timeout() -> None:
    """Attempts share one timer per pipeline: each still times out exactly on its own clock,
    and an expiry touches no other call, in flight or later."""
    email = email_section(timeout={"attempt": 0.3}, retry={"attempts": 1})
    outcomes: dict[str, object] = {}
    async with make_hub(email=email) as h:
        provider = fake(h)
        slow_for = {"first": 1.0, "second": 0.15, "third": 1.0}
        original = provider.send

        async def send_after(message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
            await anyio.sleep(slow_for.get(message.subject, 0.0))
            return await original(message, idempotency_key=idempotency_key)

        provider.send = send_after  # type: ignore[method-assign]

        async def one(subject: str) -> None:
            started = anyio.current_time()
            try:
                await h.email.send(to="ada@example.com", subject=subject, text="Hi")
                outcomes[subject] = "sent"
            except Timeout:
                outcomes[subject] = round(anyio.current_time() - started, 1)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(one, "first")
            await anyio.sleep(0.1)
            tasks.start_soon(one, "second")  # ends inside its own timeout, after the first's
            tasks.start_soon(one, "third")  # times out 0.3 s after it began, not with the first
        await send(h)  # a call after the expiries runs as usual
    assert outcomes == {"first": 0.3, "second": "sent", "third": 0.3}


async def test_an_outer_cancel_scope_still_cancels_an_attempt() -> None:
    """The caller's own deadline ends the call as a cancellation, not as a hub Timeout."""
    async with make_hub() as h:
        fake(h).faults.latency = 5.0
        with anyio.move_on_after(0.05) as outer:
            await send(h)
    assert outer.cancelled_caught


async def test_total_deadline_bounds_all_attempts() -> None:
    email = email_section(timeout={"attempt": 1.0, "total": 0.1}, retry={"attempts": 10})
    async with make_hub(email=email) as h:
        fake(h).faults.latency = 5.0
        with anyio.fail_after(2), pytest.raises(Timeout) as caught:
            await send(h)
        calls = len(fake(h).faults.calls)
    assert "total deadline of 0.1s" in str(caught.value)
    assert calls == 1


async def test_deadline_during_a_retry_wait_raises_the_last_error() -> None:
    email = email_section(timeout={"total": 0.2}, retry={"attempts": 3, "wait_initial": 5.0})
    async with make_hub(email=email) as h:
        fake(h).fail_next(3)
        with anyio.fail_after(2), pytest.raises(Unavailable) as caught:
            await send(h)
    assert any("before the next retry" in note for note in caught.value.__notes__)


# -- limits -----------------------------------------------------------------------------------


async def test_concurrency_limit_caps_calls_in_flight() -> None:
    in_flight = peak = 0
    async with make_hub(email=email_section(concurrency=2)) as h:
        provider = fake(h)
        original = provider.send

        async def counting(message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.01)
            in_flight -= 1
            return await original(message, idempotency_key=idempotency_key)

        provider.send = counting  # type: ignore[method-assign]

        async def one(n: int) -> None:
            await send(h, subject=f"m{n}")

        async with anyio.create_task_group() as group:
            for n in range(8):
                group.start_soon(one, n)
    assert peak == 2
    assert len(provider.outbox) == 8


async def test_rate_limit_refuses_beyond_its_bounded_wait() -> None:
    clock = FakeClock()
    email = email_section(rate_limit={"rate": 1, "burst": 1, "max_wait": 0.5})
    async with make_hub(email=email, clock=clock) as h:
        await send(h)
        with pytest.raises(RateLimited) as caught:
            await send(h)
        clock.advance(1.0)
        await send(h)
        outbox = fake(h).outbox
    assert caught.value.retry_after == pytest.approx(1.0)
    assert len(outbox) == 2


# -- idempotency for vendors without it -------------------------------------------------------


async def test_hub_remembers_keys_for_vendors_without_idempotency() -> None:
    registry = registry_with("email", "forgetful", features=frozenset())
    async with make_hub(registry=registry, email={**email_section(), "provider": "forgetful"}) as h:
        first = await send(h, idempotency_key="order-1")
        second = await send(h, idempotency_key="order-1")
        provider = fake(h, "forgetful")
    assert second == first
    assert provider.faults.calls == ["send"]


async def test_concurrent_calls_with_one_key_deliver_once() -> None:
    registry = registry_with("email", "forgetful", features=frozenset())
    receipts: list[EmailReceipt] = []
    # The real clock: waiters poll while the first call sleeps for real in the fake vendor.
    forgetful = {**email_section(), "provider": "forgetful"}
    async with make_hub(registry=registry, email=forgetful, clock=SYSTEM_CLOCK) as h:
        provider = fake(h, "forgetful")
        provider.faults.latency = 0.05

        async def one() -> None:
            receipts.append(await send(h, idempotency_key="order-2"))

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(one)
    assert len({r.id for r in receipts}) == 1
    assert provider.faults.calls == ["send"]


# -- what counts against the breaker ----------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (Unavailable("down", provider="x"), True),
        (Timeout("slow", provider="x"), True),
        (RuntimeError("bug in the provider"), True),
        (RateLimited("slow down", provider="x"), False),
        (InvalidRequest("bad input"), False),
        (AuthenticationError("bad key", provider="x"), False),
    ],
)
def test_only_signs_of_an_unhealthy_vendor_count_as_failures(
    error: Exception, counts: bool
) -> None:
    assert counts_as_failure(error) is counts


async def test_caller_errors_never_open_the_breaker() -> None:
    email = email_section(circuit_breaker={"consecutive_failures": 2})
    async with make_hub(email=email) as h:
        provider = fake(h)
        provider.fail_next(5, InvalidRequest("the vendor said 400", provider="fake"))
        for _ in range(5):
            with pytest.raises(InvalidRequest):
                await send(h)
        await send(h)
        breaker = h.email._runtime.executor.pipelines[("email", "fake")].breaker
        assert breaker is not None
        assert await breaker.state_name() == "closed"
    assert len(provider.faults.calls) == 6


async def test_unexpected_exceptions_pass_through_unless_money_moves() -> None:
    async with make_hub(email=email_section(retry={"attempts": 1})) as h:
        fake(h).faults.fail_next(1, cast(Any, lambda provider: RuntimeError("bug")))
        with pytest.raises(RuntimeError, match="bug"):
            await send(h)
    async with make_hub() as h:
        payments: Any = h.payments.provider
        payments.fail_next(1, lambda provider: RuntimeError("bug after the request left"))
        with pytest.raises(OutcomeUnknown) as caught:
            await h.payments.charge(
                hub.Money(500, "EUR"), payment_method="pm_card_visa", idempotency_key="pay-1"
            )
    assert caught.value.idempotency_key == "pay-1"
    assert "bug after" not in str(caught.value)  # only the type of a foreign exception is shown


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_the_pipeline_runs_on_either_event_loop() -> None:
    clock = FakeClock()
    email = email_section(timeout={"attempt": 0.05, "total": 5})
    async with make_hub(clock=clock, email=email) as h:
        provider = fake(h)
        provider.faults.fail_next(1, lambda p: RateLimited("429", provider=p, retry_after=1.5))
        provider.fail_next(1)
        assert (await send(h)).attempts == 3
        provider.faults.latency = 5.0
        with anyio.fail_after(2), pytest.raises(Timeout):
            await send(h)
    assert clock.sleeps == [1.5]
