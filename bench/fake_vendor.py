"""A fast local stand-in for SendGrid, Twilio and Stripe, for the benchmarks only.

A raw :class:`asyncio.Protocol` speaking just enough HTTP/1.1 (keep-alive, ``Content-Length``
bodies) to answer, on 127.0.0.1 only:

- ``POST /v3/mail/send`` → ``202`` with an empty body and ``X-Message-Id`` (SendGrid);
- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` → ``201`` + a Message resource (Twilio);
- ``POST /v1/payment_intents`` → ``200`` + a succeeded PaymentIntent (Stripe);
- anything else → ``404``.

A real server would be the bottleneck long before the clients measured here are, so this one
does no more than that: no chunked bodies, no validation. ``--latency-ms`` delays every answer
(the vendor's own processing time). It runs on uvloop when that is importable, and prints
``READY <port>`` once listening, which is how ``bench/run.py`` finds it.

Stdlib only (uvloop optional), so it runs under any interpreter::

    python bench/fake_vendor.py --port 8025 --latency-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import sys
from collections import deque
from typing import Any, cast

__all__ = ["VendorProtocol", "answer", "main", "serve"]

_HEAD_END = b"\r\n\r\n"
_MAX_HEAD = 65_536
_ids = itertools.count(1)


def _twilio_body(n: int) -> bytes:
    sid = f"SM{n:032x}"
    account = "AC" + "a" * 32
    return json.dumps(
        {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": "bench",
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_sent": None,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": "+15005550006",
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
            },
            "to": "+14155550100",
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        },
        separators=(",", ":"),
    ).encode()


def _stripe_body(n: int) -> bytes:
    intent, charge = f"pi_bench{n:016d}", f"ch_bench{n:016d}"
    return json.dumps(
        {
            "id": intent,
            "object": "payment_intent",
            "amount": 1999,
            "amount_capturable": 0,
            "amount_received": 1999,
            "capture_method": "automatic",
            "client_secret": f"{intent}_secret_bench",
            "confirmation_method": "automatic",
            "created": 1795559118,
            "currency": "eur",
            "customer": "cus_bench",
            "description": None,
            "last_payment_error": None,
            "latest_charge": {
                "id": charge,
                "object": "charge",
                "amount": 1999,
                "amount_captured": 1999,
                "amount_refunded": 0,
                "captured": True,
                "currency": "eur",
                "paid": True,
                "payment_intent": intent,
                "refunded": False,
                "status": "succeeded",
            },
            "livemode": False,
            "metadata": {},
            "next_action": None,
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "status": "succeeded",
        },
        separators=(",", ":"),
    ).encode()


def _response(status: str, headers: list[tuple[str, str]], body: bytes, close: bool) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_JSON = [("Content-Type", "application/json")]


def answer(method: bytes, path: bytes, close: bool = False) -> bytes:
    """The whole HTTP response to ``method path``, as the vendor would answer it."""
    n = next(_ids)
    target = path.split(b"?", 1)[0]
    if method == b"POST":
        if target == b"/v3/mail/send":
            return _response("202 Accepted", [("X-Message-Id", f"bench{n:016x}")], b"", close)
        if target.startswith(b"/2010-04-01/Accounts/") and target.endswith(b"/Messages.json"):
            return _response("201 Created", _JSON, _twilio_body(n), close)
        if target == b"/v1/payment_intents":
            headers = [*_JSON, ("Request-Id", f"req_bench{n:012d}")]
            return _response("200 OK", headers, _stripe_body(n), close)
    body = b'{"error":"not found"}'
    return _response("404 Not Found", _JSON, body, close)


class VendorProtocol(asyncio.Protocol):
    """One keep-alive connection: parse requests as bytes arrive, answer each in order."""

    def __init__(self, latency: float) -> None:
        self._latency = latency
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._due: deque[tuple[float, bytes, bool]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but speak the same API.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while True:
            end = buffer.find(_HEAD_END)
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    self._fail()
                return
            head = bytes(buffer[:end])
            length = 0
            close = False
            lines = head.split(b"\r\n")
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding":
                    self._fail()  # chunked bodies are not spoken here
                    return
            total = end + 4 + length
            if len(buffer) < total:
                return
            del buffer[:total]
            parts = lines[0].split(b" ")
            if len(parts) != 3:
                self._fail()
                return
            self._respond(answer(parts[0], parts[1], close), close)
            if close:
                return

    def _respond(self, response: bytes, close: bool) -> None:
        if self._latency <= 0 and not self._due:
            self._send(response, close)
            return
        loop = asyncio.get_running_loop()
        self._due.append((loop.time() + self._latency, response, close))
        if self._timer is None:
            self._timer = loop.call_at(self._due[0][0], self._flush)

    def _flush(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._due and self._due[0][0] <= now:
            _, response, close = self._due.popleft()
            self._send(response, close)
        if self._due:
            self._timer = loop.call_at(self._due[0][0], self._flush)

    def _send(self, response: bytes, close: bool) -> None:
        if self._transport is None:
            return
        self._transport.write(response)
        if close:
            self._transport.close()

    def _fail(self) -> None:
        if self._transport is not None:
            self._transport.write(_response("400 Bad Request", [], b"", True))
            self._transport.close()


async def serve(port: int, latency: float, *, host: str = "127.0.0.1") -> None:
    """Listen until SIGTERM/SIGINT; print ``READY <port>`` when ready."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: VendorProtocol(latency), host, port, backlog=2048, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--no-uvloop", action="store_true", help="stay on the stdlib loop")
    args = parser.parse_args(argv)
    run: Any = asyncio.run
    if not args.no_uvloop:
        with contextlib.suppress(ImportError):
            import uvloop  # type: ignore[import-not-found,unused-ignore]

            run = uvloop.run
    loop_name = "asyncio" if run is asyncio.run else "uvloop"
    print(f"fake vendor on {loop_name}, latency {args.latency_ms:g} ms", file=sys.stderr)
    run(serve(args.port, args.latency_ms / 1000.0))


if __name__ == "__main__":
    main()
