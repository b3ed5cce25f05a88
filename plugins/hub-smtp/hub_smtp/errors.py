"""SMTP replies and aiosmtplib failures, mapped onto the hub's error tree in one place.

Where in the transaction a failure happened decides the flags. Up to the end of DATA the
server has accepted nothing, so a reply or a broken connection there is safe to retry and to
fail over (``failover_safe``). Once the message content has been sent, a broken connection or a
timeout means the message may have been delivered: neither retried nor failed over.

Reply codes: 421 → Unavailable; 450/451/452 and other 4xx → RateLimited when the text says the
server is throttling, else Unavailable (both retryable); 530/534/535/538 → AuthenticationError;
other 5xx → InvalidRequest naming the field the server refused.
"""

from __future__ import annotations

import re
import ssl
from typing import Any, Literal

import aiosmtplib

from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
)

__all__ = ["Stage", "map_exception", "reply_error"]

#: Where in the SMTP exchange a failure happened.
Stage = Literal["connect", "mail", "rcpt", "data"]

_AUTH_CODES = frozenset({530, 534, 535, 538})
_THROTTLED = re.compile(
    r"rate|throttl|slow down|too many (?:messages|mails|emails|connections|requests|sessions)"
    r"|limit exceeded|exceeded .*limit",
    re.IGNORECASE,
)
#: The message field a permanent refusal at each stage is about.
_FIELD: dict[Stage, str | None] = {"connect": None, "mail": "from", "rcpt": "to", "data": None}


def reply_error(provider: str, code: int, text: str, *, stage: Stage) -> HubError:
    """The hub error for an SMTP reply ``code text`` that refused the transaction."""
    said = f"{provider}: the SMTP server answered {code} {' '.join(text.split())}".rstrip()
    raw: dict[str, Any] = {"code": code, "message": text, "stage": stage}
    common: dict[str, Any] = {"provider": provider, "status": code, "vendor_code": str(code)}
    if code in _AUTH_CODES:
        return AuthenticationError(
            f"{said}; check the SMTP username and password (and whether the server wants "
            "TLS before AUTH)",
            retryable=False,
            failover_safe=True,
            raw=raw,
            **common,
        )
    if 400 <= code < 500:
        if _THROTTLED.search(text):
            return RateLimited(
                f"{said}; the server is throttling, slow down and retry",
                retryable=True,
                failover_safe=True,
                raw=raw,
                **common,
            )
        return Unavailable(
            f"{said}; a temporary failure before the message was accepted, retry later",
            retryable=True,
            failover_safe=True,
            raw=raw,
            **common,
        )
    if 500 <= code < 600 and stage == "connect":
        return ProviderError(
            f"{said}; the server refused the session (greeting, EHLO or STARTTLS)",
            retryable=False,
            failover_safe=True,
            raw=raw,
            **common,
        )
    if 500 <= code < 600:
        field = _FIELD[stage]
        target = f" the {field!r} address" if field else " the message"
        return InvalidRequest(
            f"{said}; the server refused{target} permanently, the same message will fail again",
            field=field,
            provider=provider,
            vendor_code=str(code),
            raw=raw,
        )
    return ProviderError(
        f"{said}; an unexpected reply", retryable=False, failover_safe=False, raw=raw, **common
    )


def map_exception(provider: str, exc: BaseException, *, stage: Stage) -> HubError:
    """The hub error for anything aiosmtplib (or the TLS layer) raised during ``stage``."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return reply_error(provider, first.code, first.message, stage="rcpt")
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code > 0:
        return reply_error(provider, exc.code, exc.message, stage=stage)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    where = f"{provider}: {stage}"
    delivered = stage == "data"
    if _tls_failure(exc):
        return ProviderError(
            f"{where}: TLS failed ({detail}); set ca_file to the server's CA, use the "
            "right security mode (tls on 465, starttls on 587), or validate_certs=false "
            "for a test server",
            provider=provider,
            retryable=False,
            failover_safe=True,
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        if stage == "connect":
            return ProviderError(
                f"{where}: the server lacks an extension these settings need ({detail}); "
                "check `security` and whether the server offers AUTH",
                provider=provider,
                retryable=False,
                failover_safe=True,
            )
        return InvalidRequest(
            f"{where}: {detail}; an internationalized address needs a server with SMTPUTF8",
            field="to",
            provider=provider,
        )
    if isinstance(exc, TimeoutError):
        return Timeout(
            f"{where}: no answer in time ({detail})"
            + ("; the message may have been delivered" if delivered else "; nothing was sent"),
            provider=provider,
            retryable=not delivered,
            failover_safe=not delivered,
        )
    if isinstance(exc, ConnectionError | OSError):
        return Unavailable(
            f"{where}: the connection failed ({detail})"
            + (
                "; the message may have been delivered"
                if delivered
                else "; nothing was sent, so retrying or failing over is safe"
            ),
            provider=provider,
            retryable=not delivered,
            failover_safe=not delivered,
        )
    if isinstance(exc, ValueError):  # aiosmtplib refuses an address it cannot put in a command
        return InvalidRequest(f"{where}: {exc}", provider=provider)
    hint = ""
    if stage == "connect":
        hint = "; check `security` (none/starttls/tls) and the credentials"
    return ProviderError(
        f"{where}: {detail}{hint}",
        provider=provider,
        retryable=False,
        failover_safe=not delivered,
    )


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
