"""Chaos: the fault-injecting transport, and 2,000 emails through a vendor failing 20% of calls."""

from __future__ import annotations

import contextlib
from collections import Counter

import anyio
import httpx
import pytest
import stamina
from prometheus_client import CollectorRegistry

from hub._runtime import ProviderContext
from hub.capabilities.email import EmailReceipt
from hub.errors import HubError, RateLimited, Timeout, Unavailable
from hub.testing.chaos import ChaosTransport, Fault
from hub.testing.clock import FakeClock
from tests.test_pipeline import email_section, fake, make_hub

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Vendor:
    """A MockTransport handler that counts the requests it really received."""

    def __init__(self) -> None:
        self.received = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received += 1
        return httpx.Response(202, json={"id": f"msg-{self.received}"})


def client(transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, base_url="https://vendor.test")


# -- the transport ----------------------------------------------------------------------------


async def test_scripted_faults_in_order() -> None:
    vendor, clock = Vendor(), FakeClock()
    chaos = ChaosTransport(vendor, clock=clock).then(
        Fault.http_status(429, retry_after=2),
        Fault.http_status(503),
        Fault.latency(0.5),
        None,
    )
    async with client(chaos) as c:
        limited = await c.post("/send")
        unavailable = await c.post("/send")
        slow = await c.post("/send")
        ok = await c.post("/send")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")
    assert unavailable.status_code == 503
    assert "Retry-After" not in unavailable.headers
    assert (slow.status_code, ok.status_code) == (202, 202)
    assert clock.sleeps == [0.5]
    assert vendor.received == 2  # status faults never reach the vendor
    assert chaos.injected == Counter({"status_429_retry_after": 1, "status_503": 1, "latency": 1})
    assert (chaos.requests, chaos.forwarded) == (4, 2)


async def test_retry_after_as_an_http_date() -> None:
    when = "Wed, 21 Oct 2015 07:28:00 GMT"
    chaos = ChaosTransport(Vendor(), script=[Fault.http_status(503, retry_after=when)])
    async with client(chaos) as c:
        response = await c.get("/")
    assert response.headers["Retry-After"] == when


async def test_connection_faults_and_whether_the_vendor_got_the_request() -> None:
    vendor = Vendor()
    chaos = ChaosTransport(vendor).then(
        Fault.connect_error(),
        Fault.reset(),
        Fault.read_timeout(),
        Fault.read_timeout(reached=False),
    )
    async with client(chaos) as c:
        with pytest.raises(httpx.ConnectError):
            await c.post("/charge")
        assert vendor.received == 0  # refused: nothing was sent
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/charge")
        assert vendor.received == 1  # reset after the vendor acted: the answer is lost
        with pytest.raises(httpx.ReadTimeout):
            await c.post("/charge")
        assert vendor.received == 2
        with pytest.raises(httpx.ReadTimeout):
            await c.post("/charge")
        assert vendor.received == 2
    assert chaos.injected == Counter({"connect_error": 1, "reset": 1, "read_timeout": 2})


async def test_faults_by_rate_are_repeatable_with_a_seed() -> None:
    async def run(seed: int) -> Counter[str]:
        chaos = ChaosTransport(Vendor(), rate=0.3, seed=seed, clock=FakeClock())
        async with client(chaos) as c:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    await c.get("/")
        return chaos.injected

    first, again = await run(7), await run(7)
    assert first == again
    assert 60 <= sum(first.values()) <= 120  # ~30% of 300


async def test_wrapped_transports_share_dice_script_and_counters() -> None:
    chaos = ChaosTransport(script=[Fault.http_status(500)])
    one, two = Vendor(), Vendor()
    a, b = (
        client(chaos.wrap(httpx.MockTransport(one))),
        client(chaos.wrap(httpx.MockTransport(two))),
    )
    async with a, b:
        assert (await a.get("/")).status_code == 500
        assert (await b.get("/")).status_code == 202
    assert (one.received, two.received, chaos.requests) == (0, 1, 2)


async def test_active_puts_chaos_in_front_of_every_hub_client() -> None:
    vendor = Vendor()
    async with make_hub() as h:
        context = ProviderContext(capability="email", name="acme", runtime=h.email._runtime)
        hub_client = context.http_client(
            base_url="https://vendor.test", transport=httpx.MockTransport(vendor)
        )
        chaos = ChaosTransport(script=[Fault.http_status(503)])
        with chaos.active():
            assert (await hub_client.get("/")).status_code == 503
            assert (await hub_client.get("/")).status_code == 202
        assert (await hub_client.get("/")).status_code == 202  # outside the block: no chaos
    assert (chaos.requests, vendor.received) == (2, 2)


async def test_a_transport_without_inner_says_how_to_use_it() -> None:
    async with client(ChaosTransport()) as c:
        with pytest.raises(RuntimeError, match=r"chaos\.active\(\)"):
            await c.get("/")


def test_a_rate_is_a_probability() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ChaosTransport(rate=1.5)


# -- 2,000 emails, 20% faults -----------------------------------------------------------------

CALLS = 2000


def _unavailable(provider: str) -> HubError:
    return Unavailable("injected 503", provider=provider, status=503)


def _rate_limited(provider: str) -> HubError:
    return RateLimited("injected 429", provider=provider, status=429, retry_after=0.25)


def _timeout(provider: str) -> HubError:
    return Timeout("injected read timeout", provider=provider)


async def test_two_thousand_emails_through_twenty_percent_faults() -> None:
    clock, metrics = FakeClock(), CollectorRegistry()
    # A breaker tuned above the noise of 20% random faults, as one would in production.
    email = email_section(circuit_breaker={"consecutive_failures": 10})
    results: dict[int, EmailReceipt | HubError] = {}

    # stamina's test mode: no backoff sleeps (the vendor's Retry-After still goes through the
    # fake clock), the policy's 3 attempts kept.
    with stamina.set_testing(True, attempts=3, cap=True):
        async with make_hub(clock=clock, metrics=metrics, email=email) as h:
            provider = fake(h)
            provider.faults.fail_rate(0.2, [_unavailable, _rate_limited, _timeout], seed=2024)
            limiter = anyio.CapacityLimiter(50)

            async def one(index: int) -> None:
                async with limiter:
                    try:
                        results[index] = await h.email.send(
                            to="ada@example.com", subject=f"message {index}", text="hi"
                        )
                    except HubError as exc:
                        results[index] = exc

            async with anyio.create_task_group() as group:
                for index in range(CALLS):
                    group.start_soon(one, index)

    receipts = [r for r in results.values() if isinstance(r, EmailReceipt)]
    errors = [r for r in results.values() if isinstance(r, HubError)]
    delivered = {i for i, r in results.items() if isinstance(r, EmailReceipt)}
    # Every call ended in a receipt or a typed hub error.
    assert len(receipts) + len(errors) == CALLS
    assert all(type(e) in (Unavailable, RateLimited, Timeout) for e in errors)
    assert len(receipts) > 0.95 * CALLS  # 3 attempts turn 20% faults into ~1% failures

    # The fake vendor received no message twice: one outbox entry per receipt, none repeated.
    subjects = [m.subject for m in provider.outbox]
    assert len(subjects) == len(set(subjects)) == len(receipts)
    assert set(subjects) == {f"message {i}" for i in delivered}
    assert len({r.idempotency_key for r in receipts}) == len(receipts)

    def total(name: str, **labels: str) -> float:
        return sum(
            sample.value
            for family in metrics.collect()
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    # The metrics account for every call ...
    assert total("hub_operations_total") == CALLS
    assert total("hub_operations_total", outcome="success") == len(receipts)
    assert total("hub_operations_total", outcome="error") == len(errors)
    # ... every attempt the vendor saw, and every fault it raised ...
    attempts = total("hub_attempts_total")
    assert attempts == len(provider.faults.calls)
    assert attempts == sum(r.attempts for r in receipts) + 3 * len(errors)
    assert CALLS - total("hub_attempts_total", error="none") == len(errors)
    assert total("hub_attempts_total") - total("hub_attempts_total", error="none") == sum(
        provider.faults.injected.values()
    )
    # ... and every retry.
    assert total("hub_retries_total") == attempts - CALLS
    # Each Retry-After was waited for, through the clock, once per retry it caused.
    assert len(clock.sleeps) == total("hub_retries_total", error="RateLimited")
    assert set(clock.sleeps) == {0.25}
