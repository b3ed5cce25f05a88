"""Postmark's API error codes on the hub's error tree.

Postmark answers a refused send with HTTP 422 (401 for a bad token) and
``{"ErrorCode": <n>, "Message": "..."}``; a batch answers 200 with one such object per
message. Both go through :func:`code_error`, so a code means the same wherever it appears;
code 406 (inactive recipients) is no error at all but a receipt, read by the provider.
Codes: https://postmarkapp.com/developer/api/overview#error-codes
"""

from __future__ import annotations

from typing import Any

from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    ProviderError,
    Unavailable,
)

__all__ = ["code_error"]

#: Codes that mean "this request is wrong": the hub field each points at (None: no one field).
_INVALID: dict[int, str | None] = {
    300: None,  # invalid email request (addresses, empty body, > 50 recipients...)
    400: "from",  # sender signature not found
    401: "from",  # sender signature not confirmed
    402: None,  # invalid JSON
    403: None,  # incompatible JSON
    409: None,  # JSON required
    410: None,  # too many batch messages
    411: "attachments",  # forbidden attachment type
    1101: "template_id",  # template not found
    1109: "template_data",
    1120: "template_id",
    1121: "template_data",
    1122: "template_data",
    1123: None,
}
#: The account may not send at all: nothing was sent, another provider may be asked.
_ACCOUNT = {
    405: "the account has run out of credits",
    412: "the account is pending approval (it may only send to its own domain)",
    413: "the account is not approved for sending",
}


def code_error(
    code: int, text: str, *, provider: str, status: int | None, raw: Any
) -> HubError | None:
    """The hub error of a Postmark ErrorCode, or None where the HTTP status should decide."""
    said = f"{provider}: Postmark error {code}" + (f" (HTTP {status})" if status else "")
    said += f": {text}" if text else ""
    common: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "vendor_code": str(code),
        "raw": raw,
    }
    if code == 10:
        return AuthenticationError(
            f"{said}; check the server token (Server > API Tokens)", **common
        )
    if code in _ACCOUNT:
        return AuthenticationError(f"{said}; {_ACCOUNT[code]}", **common)
    if code == 100:  # maintenance: the API is offline, nothing was processed
        return Unavailable(said, retryable=True, failover_safe=True, **common)
    if code in _INVALID:
        return InvalidRequest(
            f"{said}; fix the input, the same request will fail again",
            field=_INVALID[code],
            provider=provider,
            vendor_code=str(code),
            raw=raw,
        )
    if status is None:  # a batch item with a code we do not know: refused, not retried
        return ProviderError(said, retryable=False, failover_safe=False, **common)
    return None
