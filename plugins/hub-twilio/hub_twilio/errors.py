"""Twilio's error codes, mapped onto the hub's error tree.

Twilio answers a refused request with ``{"code": 21211, "message": "...", "more_info":
"https://www.twilio.com/docs/errors/21211", "status": 400}``. The HTTP status alone says too
little (a 400 may be a bad number, an opted-out recipient or a full sender queue; a 403 may be
a fraud block rather than bad credentials), so the code decides where it is known. Delivery
failures reported later through status callbacks carry 30xxx codes: :data:`DELIVERY_ERRORS`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AUTHENTICATION",
    "DELIVERY_ERRORS",
    "INVALID",
    "MAX_CHECK_ATTEMPTS",
    "MAX_SEND_ATTEMPTS",
    "NOT_FOUND",
    "RATE_LIMITED",
    "delivery_reason",
]

AUTHENTICATION = 20003
NOT_FOUND = 20404
MAX_CHECK_ATTEMPTS = 60202
MAX_SEND_ATTEMPTS = 60203

#: Codes that mean the request itself cannot succeed: (the hub field at fault, how to fix it).
INVALID: Mapping[int, tuple[str | None, str]] = {
    21211: ("to", "the 'to' number is not a valid phone number"),
    21212: ("sender", "the sender is not a valid phone number, short code or sender id"),
    21408: (
        "to",
        "sending to this number's country is not enabled; enable it under Messaging > "
        "Settings > Geo permissions in the Twilio console",
    ),
    21602: ("body", "Twilio needs a message body"),
    21603: ("sender", "Twilio needs a sender or a Messaging Service"),
    21604: ("to", "Twilio needs a 'to' number"),
    21606: (
        "sender",
        "the sender is not a message-capable Twilio number of this account for this destination",
    ),
    21609: ("status_callback", "the status callback URL is not valid"),
    21610: (
        "to",
        "the recipient has unsubscribed from this sender (they replied STOP); they must text "
        "START before you can message them again, do not retry",
    ),
    21612: ("to", "the 'to' number cannot be reached by SMS from this sender"),
    21614: ("to", "the 'to' number is not a mobile number that can receive SMS"),
    21617: ("body", "the message body is longer than Twilio's 1,600 characters"),
    21620: ("media_urls", "a media URL is not valid or not reachable by Twilio"),
    21701: ("messaging_service_sid", "the Messaging Service does not exist in this account"),
    21704: ("messaging_service_sid", "the Messaging Service has no senders in its pool"),
    60200: (None, "Twilio Verify refused a parameter"),
    60205: ("to", "the number is a landline, which cannot receive SMS; use channel='call'"),
    60410: ("to", "Twilio's fraud guard blocked verification codes to this number"),
    60605: (
        "to",
        "verification to this country is blocked by the Verify service's geo permissions",
    ),
}

#: Codes that mean "slow down" -> whether asking again soon can help.
RATE_LIMITED: Mapping[int, bool] = {
    20429: True,  # too many concurrent requests for the account
    21611: True,  # the sender's queue is full
    60212: True,  # too many concurrent verifications for one number
    MAX_CHECK_ATTEMPTS: False,  # the verification is spent; start a new one
    MAX_SEND_ATTEMPTS: False,  # five codes in ten minutes; wait for the window to pass
}

#: Delivery error codes of status callbacks (``ErrorCode``) -> what they mean.
DELIVERY_ERRORS: Mapping[str, str] = {
    "30001": "queue overflow",
    "30002": "account suspended",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "message filtered by the carrier",
    "30008": "unknown error",
    "30009": "missing inbound segment",
    "30010": "message price exceeds max price",
    "30032": "toll-free number not verified",
    "30034": "US A2P 10DLC: message from an unregistered number",
}


def delivery_reason(code: str) -> str:
    """``"30003 unreachable destination handset"``; the bare code for one not listed here."""
    meaning = DELIVERY_ERRORS.get(code)
    return f"{code} {meaning}" if meaning else code
