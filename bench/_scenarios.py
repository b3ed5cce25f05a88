"""One benchmark scenario in one fresh process: ``python bench/_scenarios.py NAME --url ...``.

Every scenario makes the same kind of call against ``fake_vendor.py``: raw clients post the
body the hub's SendGrid plugin would send, hub scenarios go through the whole facade and
pipeline at default policies with metrics on, SDK scenarios use the vendor's official client
(run under the throwaway virtualenv that ``run.py --setup-sdks`` builds). Each prints one
``RESULT {json}`` line (see ``_common.drive``). Libraries are imported inside each scenario so
a process loads only what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from _common import BATCHES, Result, drive, emit, peak_rss_mb

Call = Callable[[], Awaitable[object]]

API_KEY = "SG.bench-key-0000000000"
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "b" * 32
STRIPE_KEY = "sk_test_bench0000000000"
SENDER, RECIPIENT = "bench@example.com", "ada@example.com"
#: What the SendGrid plugin sends for the benchmark's message (raw clients post the same).
MAIL_BODY = {
    "personalizations": [{"to": [{"email": RECIPIENT}], "subject": "Hi"}],
    "from": {"email": SENDER},
    "content": [{"type": "text/plain", "value": "Hello from the benchmark"}],
}


class Unexpected(RuntimeError):
    """The fake vendor answered something a scenario did not expect: the run is invalid."""


# -- raw clients ------------------------------------------------------------------------------


async def raw_httpx(url: str, stack: AsyncExitStack, info: Result) -> Call:
    import httpx

    client = await stack.enter_async_context(
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"})
    )
    info["library"] = f"httpx {httpx.__version__}"

    async def call() -> None:
        response = await client.post("/v3/mail/send", json=MAIL_BODY)
        if response.status_code != 202:
            raise Unexpected(response.status_code)

    return call


async def raw_aiohttp(url: str, stack: AsyncExitStack, info: Result) -> Call:
    import aiohttp

    session = await stack.enter_async_context(
        aiohttp.ClientSession(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"})
    )
    info["library"] = f"aiohttp {aiohttp.__version__}"

    async def call() -> None:
        async with session.post("/v3/mail/send", json=MAIL_BODY) as response:
            await response.read()
            if response.status != 202:
                raise Unexpected(response.status)

    return call


# -- the hub ----------------------------------------------------------------------------------


async def _hub(stack: AsyncExitStack, info: Result, **settings: Any) -> Any:
    from hub import Hub

    h = await stack.enter_async_context(Hub.from_settings(env="development", **settings))
    info["library"] = "hub"
    return h


def _note_transport(h: Any, capability: str, info: Result) -> None:
    """Which real transport the provider's client ended up on (after the warm-up)."""
    from hub.http import transport_name

    client = getattr(h.service(capability).provider, "client", None)
    if client is not None:
        info["transport"] = transport_name(client)


def _sendgrid_section(url: str) -> dict[str, Any]:
    import hub_sendgrid.settings as sendgrid_settings

    section: dict[str, Any] = {"api_key": API_KEY}
    if "base_url" in sendgrid_settings.SendGridSettings.model_fields:
        section["base_url"] = url
    else:
        # The plugin has no base-URL setting (only region): point its "global" root here.
        sendgrid_settings.BASE_URLS["global"] = url
    return section


async def hub_email(url: str, stack: AsyncExitStack, info: Result) -> Call:
    h = await _hub(
        stack,
        info,
        email={"provider": "sendgrid", "default_from": SENDER, "sendgrid": _sendgrid_section(url)},
    )
    email = h.email
    info["after_warmup"] = lambda: _note_transport(h, "email", info)

    async def call() -> None:
        await email.send(to=RECIPIENT, subject="Hi", text="Hello from the benchmark")

    return call


async def hub_sms(url: str, stack: AsyncExitStack, info: Result) -> Call:
    section = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "base_url": url}
    h = await _hub(stack, info, sms={"provider": "twilio", "twilio": section})
    sms = h.sms
    info["after_warmup"] = lambda: _note_transport(h, "sms", info)

    async def call() -> None:
        await sms.send("+14155550100", "Your table is confirmed.", "+15005550006")

    return call


async def hub_payments(url: str, stack: AsyncExitStack, info: Result) -> Call:
    from hub import Money

    section = {"secret_key": STRIPE_KEY, "base_url": url}
    h = await _hub(stack, info, payments={"provider": "stripe", "stripe": section})
    payments = h.payments
    amount = Money(1999, "EUR")
    info["after_warmup"] = lambda: _note_transport(h, "payments", info)

    async def call() -> None:
        await payments.charge(amount, customer="cus_bench", payment_method="pm_card_visa")

    return call


# -- the vendors' SDKs (in the SDK virtualenv) ------------------------------------------------


async def sdk_sendgrid(url: str, stack: AsyncExitStack, info: Result) -> Call:
    """The SendGrid SDK is synchronous: one thread per concurrent call, as apps run it."""
    from concurrent.futures import ThreadPoolExecutor

    import sendgrid  # type: ignore[import-not-found,unused-ignore]
    from sendgrid.helpers.mail import Mail  # type: ignore[import-not-found,unused-ignore]

    client = sendgrid.SendGridAPIClient(api_key=API_KEY, host=url)
    pool = stack.enter_context(ThreadPoolExecutor(max_workers=info["concurrency"]))
    loop = asyncio.get_running_loop()
    info["library"] = f"sendgrid {sendgrid.__version__} (thread pool)"

    def send() -> None:
        mail = Mail(SENDER, RECIPIENT, "Hi", plain_text_content="Hello from the benchmark")
        response = client.send(mail)
        if response.status_code != 202:
            raise Unexpected(response.status_code)

    async def call() -> None:
        await loop.run_in_executor(pool, send)

    return call


async def sdk_twilio(url: str, stack: AsyncExitStack, info: Result) -> Call:
    import twilio  # type: ignore[import-not-found,unused-ignore]
    from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-not-found,unused-ignore]
    from twilio.rest import Client  # type: ignore[import-not-found,unused-ignore]

    http = AsyncTwilioHttpClient()
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    client.api.base_url = url  # Domain root; the SDK builds every URL from it
    stack.push_async_callback(_close_twilio, http)
    info["library"] = f"twilio {twilio.__version__} (async)"
    messages = client.messages

    async def call() -> None:
        message = await messages.create_async(
            to="+14155550100", from_="+15005550006", body="Your table is confirmed."
        )
        if not message.sid:
            raise Unexpected("no sid")

    return call


async def _close_twilio(http: Any) -> None:
    if http.session is not None:
        await http.session.close()


async def sdk_stripe(url: str, stack: AsyncExitStack, info: Result) -> Call:
    import stripe  # type: ignore[import-not-found,unused-ignore]
    from stripe._http_client import HTTPXClient  # type: ignore[import-not-found,unused-ignore]

    http = HTTPXClient()
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": url}, http_client=http)
    stack.push_async_callback(http.close_async)
    info["library"] = f"stripe {stripe.VERSION} (async, httpx)"
    params: Any = {
        "amount": 1999,
        "currency": "eur",
        "customer": "cus_bench",
        "payment_method": "pm_card_visa",
        "confirm": True,
        "expand": ["latest_charge"],
    }

    async def call() -> None:
        intent = await client.v1.payment_intents.create_async(params=params)
        if intent.status != "succeeded":
            raise Unexpected(intent.status)

    return call


SCENARIOS: dict[str, Callable[[str, AsyncExitStack, Result], Awaitable[Call]]] = {
    "raw_httpx": raw_httpx,
    "raw_aiohttp": raw_aiohttp,
    "hub_email": hub_email,
    "hub_sms": hub_sms,
    "hub_payments": hub_payments,
    "sdk_sendgrid": sdk_sendgrid,
    "sdk_twilio": sdk_twilio,
    "sdk_stripe": sdk_stripe,
}


# -- send_many with SendGrid batching ---------------------------------------------------------


async def send_many(url: str, recipients: int, rounds: int, *, bulk: bool = False) -> Result:
    """10,000 recipients with SendGrid batching, ``rounds`` times; throughput in recipients/s.

    ``send_many``: one message (a dict, as apps pass them) per recipient, each validated; the
    plugin packs them 1,000 personalizations per request. ``bulk``: ``send_bulk`` of one
    message to the list of addresses (each checked), also 1,000 per request.
    """
    info: Result = {}
    async with AsyncExitStack() as stack:
        section = _sendgrid_section(url)
        h = await _hub(
            stack,
            info,
            email={"provider": "sendgrid", "default_from": SENDER, "sendgrid": section},
        )
        content = {"subject": "Hi", "text": "Hello from the benchmark"}
        addresses = [f"user{i}@example.com" for i in range(recipients)]
        messages = [{"to": address, **content} for address in addresses]

        async def send_all(count: int) -> tuple[int, str]:
            if bulk:
                outcome = await h.email.send_bulk(content, recipients=addresses[:count])
                first = outcome.failures[0].message if outcome.failures else ""
                return len(outcome.failures), first
            results = await h.email.send_many(messages[:count])
            failed = [r for r in results if not r.ok]
            return len(failed), repr(failed[0].error) if failed else ""

        await send_all(min(recipients, 2000))  # warm-up
        _note_transport(h, "email", info)
        durations = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            started = time.perf_counter()
            failed, first_error = await send_all(recipients)
            durations.append(time.perf_counter() - started)
            if failed:
                raise Unexpected(f"{failed} recipients failed: {first_error}")
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    durations.sort()
    sent = recipients * rounds
    return {
        **info,
        "n": sent,
        "concurrency": 1,
        "seconds": wall,
        "rps": sent / wall,
        "p50_ms": durations[len(durations) // 2] * 1000,
        "p99_ms": durations[-1] * 1000,
        "cpu_us": cpu / sent * 1e6,
        "rss_mb": peak_rss_mb(),
        "truncated": False,
    }


async def run(name: str, url: str, n: int, concurrency: int, max_seconds: float) -> Result:
    info: Result = {"concurrency": concurrency}
    async with AsyncExitStack() as stack:
        call = await SCENARIOS[name](url, stack, info)
        after_warmup = info.pop("after_warmup", None)
        warmup = max(2 * concurrency, 20)
        result = await drive(
            call, n=n, concurrency=concurrency, warmup=warmup, max_seconds=max_seconds
        )
        if after_warmup is not None:
            after_warmup()
    return {**info, **result}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one benchmark scenario.")
    parser.add_argument("name", choices=[*SCENARIOS, *BATCHES])
    parser.add_argument("--url", required=True, help="the fake vendor's base URL")
    parser.add_argument("--n", type=int, default=5000, help="calls (recipients for send_many)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="send_many calls to time")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    try:
        if args.name in BATCHES:
            bulk = args.name == "send_bulk"
            result = asyncio.run(send_many(args.url, args.n, args.rounds, bulk=bulk))
        else:
            result = asyncio.run(
                run(args.name, args.url, args.n, args.concurrency, args.max_seconds)
            )
    except ImportError as exc:
        emit({"skipped": f"{exc.name or exc} is not installed here"})
        return
    emit({"scenario": args.name, **result})
    sys.exit(0)


if __name__ == "__main__":
    main()
