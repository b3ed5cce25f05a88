"""A stand-in for Twilio's Messaging and Verify APIs, answering with their documented shapes.

Used three ways: as an ``httpx.MockTransport`` handler (conformance, flows), as the ``inner``
transport that recorded the documentation-built cassettes, and behind a local HTTP server on
127.0.0.1 for the CLI test (``hub.testing.stub_server.serve``).

Magic numbers follow Twilio's test credentials: a message to
``+15005550001`` is an invalid number (21211), ``+15005550003`` has no geo permission (21408),
``+15005550004`` has opted out (21610), ``+15005550009`` is not a mobile (21614); sending from
``+15005550007`` is a number the account does not own (21606) and from ``+15005550008`` a full
queue (21611).

Shapes: https://www.twilio.com/docs/messaging/api/message-resource ,
https://www.twilio.com/docs/verify/api/verification , .../verification-check ,
https://www.twilio.com/docs/usage/twilios-response (error body).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx

from hub.capabilities.sms import count_segments

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "fake-auth-token-0123456789"  # obviously not a real token
API_KEY_SID = "SK" + "b" * 32
API_KEY_SECRET = "fake-api-key-secret-0123"
MESSAGING_SERVICE_SID = "MG" + "c" * 32
VERIFY_SERVICE_SID = "VA" + "d" * 32
SENDER = "+15005550006"
#: The code the fake Verify sends (the user reads it off their phone).
CODE = "123456"
CREATED = "Thu, 24 Aug 2023 05:01:45 +0000"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
VERIFY_ROOT = f"/v2/Services/{VERIFY_SERVICE_SID}"

#: Twilio's magic test numbers -> (HTTP status, code, message) of the documented error.
BAD_TO = {
    "+15005550001": (400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550003": (
        400,
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
        "number: +15005550003.",
    ),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (400, 21614, "'To' number is not a valid mobile number"),
}
BAD_FROM = {
    "+15005550007": (
        400,
        21606,
        "The From phone number +15005550007 is not a valid, SMS-capable inbound phone number "
        "or short code for your account.",
    ),
    "+15005550008": (
        400,
        21611,
        "This 'From' number has exceeded the maximum number of queued messages",
    ),
}


def error(status: int, code: int, message: str) -> httpx.Response:
    """Twilio's documented error body."""
    return httpx.Response(
        status,
        json={
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


@dataclass
class FakeTwilio:
    """Messages and verifications of one fake account; ``requests`` keeps what arrived."""

    codes: dict[str, str] = field(default_factory=dict)
    sends: dict[str, int] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):032x}"

    def expire(self, to: str) -> None:
        """What Twilio does ten minutes after a code was sent: forget the verification."""
        self.codes.pop(to, None)
        self.checks.pop(to, None)
        self.sends.pop(to, None)

    # -- the handler --------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not _authorized(request):
            return error(401, 20003, "Authenticate")
        form = dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
        path = request.url.path
        if request.method == "POST" and path == MESSAGES_PATH:
            media = [v for k, v in parse_qsl(request.content.decode()) if k == "MediaUrl"]
            return self.create_message(form, media)
        if request.method == "POST" and path == f"{VERIFY_ROOT}/Verifications":
            return self.start(form)
        if request.method == "POST" and path == f"{VERIFY_ROOT}/VerificationCheck":
            return self.check(form)
        return error(404, 20404, f"The requested resource {path} was not found")

    def create_message(self, form: dict[str, str], media: list[str]) -> httpx.Response:
        to, sender = form.get("To", ""), form.get("From")
        if to in BAD_TO:
            return error(*BAD_TO[to])
        if sender in BAD_FROM:
            return error(*BAD_FROM[sender])
        service = form.get("MessagingServiceSid")
        sid = self.next_sid("MM" if media else "SM")
        body = form.get("Body", "")
        return httpx.Response(
            201,
            json={
                "account_sid": ACCOUNT_SID,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": CREATED,
                "date_sent": None,
                "date_updated": CREATED,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": service,
                "num_media": str(len(media)),
                # Through a Messaging Service the count is "0" until a sender is picked.
                "num_segments": "0" if service else str(count_segments(body)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "accepted" if service else "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"
                },
                "to": to,
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
        )

    def start(self, form: dict[str, str]) -> httpx.Response:
        to = form["To"]
        self.sends[to] = self.sends.get(to, 0) + 1
        if self.sends[to] > 5:  # five sends within the verification's ten minutes
            return error(429, 60203, "Max send attempts reached")
        # A resend within a verification's life carries the same code.
        self.codes.setdefault(to, CODE)
        self.checks.setdefault(to, 0)
        sid = self.next_sid("VE")
        return httpx.Response(
            201,
            json={
                "sid": sid,
                "service_sid": VERIFY_SERVICE_SID,
                "account_sid": ACCOUNT_SID,
                "to": to,
                "channel": form["Channel"],
                "status": "pending",
                "valid": False,
                "date_created": "2015-07-30T20:00:00Z",
                "date_updated": "2015-07-30T20:00:00Z",
                "lookup": {},
                "amount": None,
                "payee": None,
                "send_code_attempts": [
                    {
                        "attempt_sid": self.next_sid("VL"),
                        "channel": form["Channel"],
                        "time": "2015-07-30T20:00:00.000Z",
                    }
                ],
                "sna": None,
                "url": f"https://verify.twilio.com{VERIFY_ROOT}/Verifications/{sid}",
            },
        )

    def check(self, form: dict[str, str]) -> httpx.Response:
        to = form["To"]
        if to not in self.codes:
            return error(
                404, 20404, f"The requested resource {VERIFY_ROOT}/VerificationCheck was not found"
            )
        if self.checks[to] >= 5:
            return error(429, 60202, "Max check attempts reached")
        self.checks[to] += 1
        approved = form.get("Code") == self.codes[to]
        if approved:
            self.expire(to)
        return httpx.Response(
            200,
            json={
                "sid": self.next_sid("VE"),
                "service_sid": VERIFY_SERVICE_SID,
                "account_sid": ACCOUNT_SID,
                "to": to,
                "channel": "sms",
                "status": "approved" if approved else "pending",
                "valid": approved,
                "amount": None,
                "payee": None,
                "date_created": "2015-07-30T20:00:00Z",
                "date_updated": "2015-07-30T20:00:00Z",
                "sna_attempts_error_codes": [],
            },
        )


def _authorized(request: httpx.Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return False
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return (user, password) in {(ACCOUNT_SID, AUTH_TOKEN), (API_KEY_SID, API_KEY_SECRET)}


def form_of(request: httpx.Request) -> list[tuple[str, str]]:
    """The form pairs a request carried, in order (repeats kept)."""
    return parse_qsl(request.content.decode("utf-8"), keep_blank_values=True)
