"""What SNS's refusals mean to the caller: the field at fault, and numbers that opted out.

:mod:`hub.aws` already turned botocore's exception into the hub's error and chose its type and
flags; this only sharpens an InvalidRequest. SNS names the parameter it refused in the message
(``Invalid parameter: PhoneNumber Reason: ...``, ``... message attribute
'AWS.SNS.SMS.SenderID' ...``), which :class:`hub_sns.mapping.Publish` traces back to the hub
field that set it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hub.errors import HubError, InvalidRequest

__all__ = ["OPTED_OUT", "opted_out", "refine"]

#: SNS's code for a number that opted out (replying STOP) of this account's messages.
OPTED_OUT = "OptedOut"
# Longest first, so that "MessageAttributes" is not read as "Message".
_PARAMETER = re.compile(r"AWS\.[A-Za-z]+\.SMS\.[A-Za-z]+|PhoneNumber|MessageAttributes|Message\b")
# moto and some SNS answers spell the phone number out instead of naming the parameter.
_PHONE = re.compile(r"\bphone number\b|\bE\.?164\b", re.IGNORECASE)


def opted_out(provider: str, *, raw: Any = None) -> InvalidRequest:
    """The error for a recipient that opted out: sending again will not reach it."""
    return InvalidRequest(
        f"{provider}: the number opted out of SMS from this AWS account (it replied STOP); "
        "SNS will not deliver to it until it opts in again (OptInPhoneNumber, once per 30 days)",
        field="to",
        provider=provider,
        vendor_code=OPTED_OUT,
        raw=raw,
    )


def refine(error: HubError, fields: Mapping[str, str], *, provider: str) -> HubError:
    """``error`` naming the hub field SNS refused; anything but an InvalidRequest unchanged."""
    if not isinstance(error, InvalidRequest) or error.field is not None:
        return error
    if error.vendor_code == OPTED_OUT:
        return opted_out(provider, raw=error.raw)
    field = _field(error.message, fields)
    if field is None:
        return error
    return InvalidRequest(
        f"{error.message} (field {field})",
        field=field,
        provider=error.provider,
        vendor_code=error.vendor_code,
        raw=error.raw,
    )


def _field(message: str, fields: Mapping[str, str]) -> str | None:
    for match in _PARAMETER.finditer(message):
        name = match.group()
        if name in fields:
            return fields[name]
        if name == "MessageAttributes":
            return "provider_options.sns"
    return "to" if _PHONE.search(message) else None
