"""A stand-in for Vonage's SMS API, answering with the documented shapes (no network).

``FakeVonage.handle`` is an httpx handler (MockTransport, pytest-httpx callback): it checks the
credentials the way Vonage does (``api_secret``, or ``sig`` over the sorted fields), records
each request's form fields and answers ``POST /sms/json`` like the SMS API reference: HTTP 200
and one ``messages[]`` entry per part, ``status`` "0" for accepted parts. ``refuse_next(code)``
makes the next answers carry a documented non-zero status instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from urllib.parse import parse_qsl

import httpx
from hub_vonage.settings import SignatureMethod
from hub_vonage.signing import signature

from hub.capabilities.sms import count_segments

API_KEY = "abcd1234"
API_SECRET = "vonage-test-secret-1"
SIGNATURE_SECRET = "vonage-test-signature-secret-1"

#: The ``error-text`` Vonage sends with each status (from the API reference's examples).
ERROR_TEXTS: Mapping[str, str] = {
    "1": "Throughput Rate Exceeded - please wait [ 1000 ] and retry",
    "2": "Missing to param",
    "3": "Invalid to param",
    "4": "Bad Credentials",
    "5": "Internal Error",
    "6": "Unroutable message - rejected",
    "7": "Number barred",
    "8": "Partner account barred",
    "9": "Quota Exceeded - rejected",
    "10": "Too many existing binds",
    "11": "Account not enabled for HTTP",
    "12": "Message too long",
    "14": "Invalid Signature",
    "15": "Illegal Sender Address - rejected",
    "23": "Invalid callback url",
    "29": "Non White-listed Destination - rejected",
    "99": "Something new",
}


def ok_part(to: str, message_id: str) -> dict[str, str]:
    """One accepted part, as documented."""
    return {
        "to": to,
        "message-id": message_id,
        "status": "0",
        "remaining-balance": "3.14159265",
        "message-price": "0.03330000",
        "network": "23410",
    }


def refused_part(code: str) -> dict[str, str]:
    """One refused part: only ``status`` and ``error-text``, as documented."""
    return {"status": code, "error-text": ERROR_TEXTS.get(code, "error")}


def answer(parts: list[dict[str, str]]) -> httpx.Response:
    return httpx.Response(
        200,
        json={"message-count": str(len(parts)), "messages": parts},
        headers={"content-type": "application/json"},
    )


class FakeVonage:
    """The SMS API: checks credentials, counts parts, refuses on demand."""

    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        api_secret: str = API_SECRET,
        signature_secret: str | None = None,
        signature_method: SignatureMethod = "md5hash",
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.signature_secret = signature_secret
        self.signature_method = signature_method
        #: Form fields of every request received, in order.
        self.requests: list[dict[str, str]] = []
        self._refusals: list[str] = []
        self._ids = (f"0A{n:014X}" for n in itertools.count(0x1234567B))

    def refuse_next(self, code: str, times: int = 1) -> None:
        self._refusals.extend([code] * times)

    def clear(self) -> None:
        self._refusals.clear()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != "/sms/json":
            return httpx.Response(404, json={"error": "not found"})
        fields = dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
        self.requests.append(fields)
        if self._refusals:
            return answer([refused_part(self._refusals.pop(0))])
        if not self._authentic(fields):
            return answer([refused_part("14" if "sig" in fields else "4")])
        missing = [name for name in ("from", "to", "text") if not fields.get(name)]
        if missing:
            return answer([{"status": "2", "error-text": f"Missing {missing[0]} param"}])
        parts = count_segments(fields["text"])
        return answer([ok_part(fields["to"], next(self._ids)) for _ in range(parts)])

    def _authentic(self, fields: Mapping[str, str]) -> bool:
        if fields.get("api_key") != self.api_key:
            return False
        if "sig" in fields:
            if self.signature_secret is None or "api_secret" in fields:
                return False
            expected = signature(fields, secret=self.signature_secret, method=self.signature_method)
            return fields["sig"].lower() == expected
        return fields.get("api_secret") == self.api_secret
