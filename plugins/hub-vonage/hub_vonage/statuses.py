"""Vonage's per-message ``status`` codes (HTTP 200 whatever happened) and what each one means.

A non-zero status means the message part was *not* accepted, so nothing left Vonage for it:
another provider may be asked (``failover_safe``) unless an earlier part of the same message
was accepted. Codes from the SMS API reference and "Troubleshooting SMS":
https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["STATUSES", "Kind", "Status", "status_of"]

#: rate_limited → RateLimited, invalid → InvalidRequest, auth → AuthenticationError,
#: unavailable → Unavailable, refused → a ProviderError that no retry can fix (account state).
Kind = Literal["rate_limited", "invalid", "auth", "unavailable", "refused", "unknown"]


@dataclass(frozen=True, slots=True)
class Status:
    """One documented status: its name, the error kind, the hub field at fault, a fix."""

    meaning: str
    kind: Kind
    field: str | None = None
    hint: str = ""


_TO = "to"
STATUSES: Mapping[str, Status] = {
    "1": Status("Throttled", "rate_limited", hint="sending faster than the account's limit"),
    "2": Status("Missing Parameters", "invalid"),
    "3": Status("Invalid Parameters", "invalid"),
    "4": Status("Invalid Credentials", "auth", hint="check VONAGE_API_KEY and VONAGE_API_SECRET"),
    "5": Status("Internal Error", "unavailable"),
    "6": Status("Invalid Message", "invalid", _TO, "e.g. an unrecognized number prefix"),
    "7": Status("Number Barred", "invalid", _TO, "the number may not receive messages"),
    "8": Status("Partner Account Barred", "refused", hint="the account is suspended"),
    "9": Status(
        "Partner Quota Violation",
        "refused",
        hint="payment required: the account has too little credit; top it up",
    ),
    "10": Status("Too Many Existing Binds", "rate_limited", hint="back off and retry"),
    "11": Status(
        "Account Not Enabled For HTTP", "refused", hint="the account is provisioned for SMPP"
    ),
    "12": Status("Message Too Long", "invalid", "body"),
    "13": Status("Communication Failed", "unavailable"),
    "14": Status(
        "Invalid Signature",
        "auth",
        hint="check VONAGE_SIGNATURE_SECRET and that signature_method matches the Dashboard",
    ),
    "15": Status(
        "Invalid Sender Address",
        "invalid",
        "sender",
        "the sender id is not allowed for this destination (North America needs a Vonage number)",
    ),
    "16": Status("Invalid TTL", "invalid", "provider_options.vonage.ttl"),
    "17": Status("Message Blocked by Provider", "invalid", "body"),
    "19": Status("Facility Not Allowed", "refused", hint="the account lacks this feature"),
    "20": Status("Invalid Message Class", "invalid", "provider_options.vonage.message_class"),
    "22": Status("Invalid Network Code", "invalid", _TO),
    "23": Status("Invalid Callback Url", "invalid", "status_callback"),
    "29": Status(
        "Non-Whitelisted Destination",
        "invalid",
        _TO,
        "the account is in demo mode: add the number to the test numbers or top up",
    ),
    "32": Status(
        "Signature And API Secret Disallowed",
        "refused",
        hint="a signed request must not carry api_secret",
    ),
    "33": Status("Number De-activated", "invalid", _TO),
    "34": Status("Invalid or Missing Msisdn Param", "invalid", _TO),
}

_UNKNOWN = Status("Unknown status", "unknown")


def status_of(code: str) -> Status:
    """The documented meaning of ``code``; an undocumented one is treated as unknown."""
    return STATUSES.get(code, _UNKNOWN)
