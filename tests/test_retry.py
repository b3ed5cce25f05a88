"""Retries: what is retried, Retry-After honoured through the clock, and its ceiling."""

from __future__ import annotations

from typing import Any

import pytest
import stamina

from hub.capabilities._service import Operation, Service
from hub.capabilities.email import EmailMessage, EmailReceipt
from hub.errors import (
    AuthenticationError,
    CircuitOpen,
    HubError,
    InvalidRequest,
    NotFound,
    PaymentDeclined,
    RateLimited,
    Timeout,
    Unavailable,
)
from hub.resilience.retry import is_retryable, retry_hook
from hub.testing.clock import FakeClock
from tests.test_pipeline import SENDER, email_section, fake, make_hub, send

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def op(*, idempotent: bool) -> Operation:
    return Operation(capability="payments", name="charge", idempotent=idempotent)


# -- what is retried --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequest("bad input", provider="fake"),
        AuthenticationError("bad key", provider="fake"),
        PaymentDeclined("no", provider="fake", decline_code="insufficient_funds"),
        NotFound("gone", provider="fake"),
        CircuitOpen("open", provider="fake", retry_in=3.0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_caller_errors_declines_and_open_circuits_are_never_retried(error: HubError) -> None:
    assert not is_retryable(op(idempotent=True), error)


def test_rate_limited_and_unavailable_are_retried() -> None:
    assert is_retryable(op(idempotent=False), RateLimited("slow down", provider="fake"))
    assert is_retryable(op(idempotent=False), Unavailable("down", provider="fake"))


def test_timeout_is_retried_only_where_repeating_is_safe() -> None:
    timeout = Timeout("no answer", provider="fake")
    assert not is_retryable(op(idempotent=False), timeout)
    assert is_retryable(op(idempotent=True), timeout)
    # Unless the mapping proved nothing was sent (a pool timeout, say).
    assert is_retryable(op(idempotent=False), Timeout("pool", provider="fake", retryable=True))


@pytest.mark.parametrize(
    "error",
    [InvalidRequest("the vendor said 400", provider="fake"), NotFound("no", provider="fake")],
    ids=lambda e: type(e).__name__,
)
async def test_non_retryable_errors_reach_the_caller_after_one_attempt(error: HubError) -> None:
    async with make_hub() as h:
        fake(h).fail_next(1, error)
        with pytest.raises(type(error)):
            await send(h)
        assert fake(h).faults.calls == ["send"]


async def test_a_timeout_is_retried_for_a_call_with_a_key() -> None:
    async with make_hub() as h:  # every email carries an idempotency key
        fake(h).faults.fail_next(2, lambda p: Timeout("no answer", provider=p))
        receipt = await send(h)
    assert receipt.attempts == 3


class Probe(Service[Any]):
    """A facade whose send is not idempotent (no key), which no built-in email call is."""

    capability = "email"

    async def send_once(self, *, idempotent: bool) -> EmailReceipt:
        message = EmailMessage(
            to=["ada@example.com"], subject="Hi", text="Hello", **{"from": SENDER}
        )
        return await self._call(
            "send", lambda p: p.send(message, idempotency_key="k"), idempotent=idempotent
        )


async def test_a_timeout_is_not_retried_where_the_operation_is_not_idempotent() -> None:
    async with make_hub() as h:
        probe = Probe(h.email._providers, h.email._settings, h.email._runtime)
        fake(h).faults.fail_next(1, lambda p: Timeout("no answer", provider=p))
        with pytest.raises(Timeout):
            await probe.send_once(idempotent=False)
        assert fake(h).faults.calls == ["send"]
        fake(h).faults.fail_next(1, lambda p: Timeout("no answer", provider=p))
        assert (await probe.send_once(idempotent=True)).attempts == 2


async def test_attempts_are_bounded_by_the_policy() -> None:
    async with make_hub(email=email_section(retry={"attempts": 4})) as h:
        fake(h).fail_next(10)
        with pytest.raises(Unavailable):
            await send(h)
        assert len(fake(h).faults.calls) == 4


# -- Retry-After ------------------------------------------------------------------------------


async def test_retry_after_of_two_seconds_is_waited_through_the_clock() -> None:
    clock = FakeClock()
    async with make_hub(clock=clock) as h:
        fake(h).faults.fail_next(1, lambda p: RateLimited("429", provider=p, retry_after=2.0))
        receipt = await send(h)
    assert clock.sleeps == [2.0]
    assert receipt.attempts == 2


async def test_retry_after_is_waited_even_in_stamina_test_mode() -> None:
    # set_testing zeroes stamina's own waits; the vendor's Retry-After is the hub's, so it stays.
    clock = FakeClock()
    with stamina.set_testing(True, attempts=3):
        async with make_hub(clock=clock) as h:
            fake(h).faults.fail_next(1, lambda p: RateLimited("429", provider=p, retry_after=2.0))
            await send(h)
    assert clock.sleeps == [2.0]


async def test_retry_after_above_the_ceiling_is_refused_as_rate_limited() -> None:
    clock = FakeClock()
    email = email_section(retry={"retry_after_max": 30})
    async with make_hub(clock=clock, email=email) as h:
        fake(h).faults.fail_next(1, lambda p: RateLimited("429", provider=p, retry_after=120.0))
        with pytest.raises(RateLimited) as caught:
            await send(h)
        assert fake(h).faults.calls == ["send"]
    assert clock.sleeps == []
    assert caught.value.retry_after == 120.0
    assert "above retry_after_max=30s" in caught.value.__notes__[0]


async def test_retry_after_beyond_the_total_deadline_is_refused() -> None:
    clock = FakeClock()
    email = email_section(timeout={"total": 5})
    async with make_hub(clock=clock, email=email) as h:
        fake(h).faults.fail_next(1, lambda p: RateLimited("429", provider=p, retry_after=10.0))
        with pytest.raises(RateLimited):
            await send(h)
    assert clock.sleeps == []


async def test_errors_without_retry_after_use_stamina_backoff_not_the_clock() -> None:
    clock = FakeClock()
    async with make_hub(clock=clock) as h:
        fake(h).fail_next(2)
        await send(h)
    assert clock.sleeps == []


def test_the_retry_hook_ignores_retries_that_are_not_the_hubs() -> None:
    from stamina.instrumentation import RetryDetails

    details = RetryDetails(
        name="app.job",
        args=(),
        kwargs={},
        retry_num=1,
        wait_for=0.1,
        waited_so_far=0.0,
        caused_by=ValueError("x"),
    )
    retry_hook(details)  # no hub call is retrying here: nothing to report, nothing raised


def test_a_timeout_with_a_key_is_retried_only_where_the_vendor_honours_keys() -> None:
    keyed = Operation(capability="email", name="send", idempotent=False, idempotency_key="k")
    timeout = Timeout("no answer", provider="fake")
    assert is_retryable(keyed, timeout, honours_keys=True)
    # The vendor ignores keys: a retry after a timeout could deliver the message twice.
    assert not is_retryable(keyed, timeout, honours_keys=False)
    unkeyed = Operation(capability="email", name="send", idempotent=False)
    assert not is_retryable(unkeyed, timeout, honours_keys=True)


@pytest.mark.anyio
@pytest.mark.parametrize(("features", "calls"), [(frozenset(), 1), (frozenset({"idempotency"}), 2)])
async def test_timed_out_send_is_repeated_only_on_a_vendor_that_deduplicates(
    features: frozenset[str], calls: int
) -> None:
    from tests.test_pipeline import registry_with

    registry = registry_with("email", "vendor", features=features)
    async with make_hub(registry=registry, email=email_section("vendor")) as h:
        vendor = fake(h, "vendor")
        vendor.fail_next(1, Timeout("read timed out after sending", provider="vendor"))
        if calls == 1:
            with pytest.raises(Timeout):
                await send(h)
        else:
            await send(h)
        assert vendor.faults.calls.count("send") == calls
