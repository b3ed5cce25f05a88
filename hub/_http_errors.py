"""Vendor HTTP answers and transport failures, mapped onto the hub's error tree in one place.

Each mapping decides ``retryable`` and ``failover_safe`` once, from what is known about the
request's fate:

* it never left (connect refused, DNS, TLS, no free pooled connection, 503 "not processed",
  429, 401/403): another provider may be asked (``failover_safe``);
* it may have been processed (read/write timeout, connection dropped after sending, 5xx): it
  stays with this provider, and is repeated only when the request is *repeatable* (an idempotent
  method, or an idempotency key the vendor honours) or the status says so (5xx, 429).

Everything that reaches an error's text or ``raw`` is redacted: configured secret values (also
URL- and base64-encoded), secret-named JSON fields, query strings and URL credentials.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    NotFound,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
)

__all__ = [
    "FIX_INPUT",
    "IDEMPOTENT_METHODS",
    "RateLimitInfo",
    "invalid_request",
    "parse_rate_limit",
    "parse_retry_after",
    "redact_body",
    "safe_url",
    "scrub",
    "status_error",
    "transport_error",
]

#: Methods whose repetition cannot change the outcome (RFC 9110 section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)?)")
_EPOCH_SECONDS = 1e9  # a "reset" above this is a Unix time (2001-09-09 onwards), not a delta
_EPOCH_MILLIS = 1e12
# aiohttp exceptions (seen through httpx-aiohttp) that prove the request was never sent.
_AIOHTTP_NEVER_SENT = frozenset({"ClientConnectorError", "ConnectionTimeoutError"})
_MESSAGE_LIMIT = 300


# -- Retry-After and rate-limit headers ---------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (RFC 9110).

    A date in the past means "now" (0.0); a negative, non-finite or unparseable value is
    ignored (None) rather than guessed at.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (_aware(when) - _aware(now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The vendor's rate-limit window as its headers describe it (None where not said)."""

    limit: int | None = None
    remaining: int | None = None
    #: Seconds until the window resets.
    reset_after: float | None = None


def parse_rate_limit(
    headers: Mapping[str, str], *, now: datetime | None = None
) -> RateLimitInfo | None:
    """Read ``X-RateLimit-*``, ``RateLimit-*`` and the structured ``RateLimit`` header.

    ``*-Reset`` is accepted as delta-seconds or as a Unix time in seconds or milliseconds
    (vendors differ); None when the response carries no rate-limit header at all.
    """
    limit = _first_number(headers, "ratelimit-limit", "x-ratelimit-limit")
    remaining = _first_number(headers, "ratelimit-remaining", "x-ratelimit-remaining")
    reset = _first_number(headers, "ratelimit-reset", "x-ratelimit-reset")
    structured = headers.get("ratelimit")
    if structured:  # draft-ietf-httpapi-ratelimit-headers: `"default";r=50;t=30`
        params = dict(_params(structured))
        remaining = _number(params.get("r")) if remaining is None else remaining
        reset = _number(params.get("t")) if reset is None else reset
    if limit is None and remaining is None and reset is None:
        return None
    reset_after = None
    if reset is not None:
        if reset >= _EPOCH_MILLIS:
            reset /= 1000
        if reset >= _EPOCH_SECONDS:
            reset -= _aware(now or datetime.now(UTC)).timestamp()
        reset_after = max(0.0, reset)
    return RateLimitInfo(
        limit=None if limit is None else int(limit),
        remaining=None if remaining is None else int(remaining),
        reset_after=reset_after,
    )


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _number(value: str | None) -> float | None:
    match = _NUMBER.match(value) if value else None
    return float(match.group(1)) if match else None


def _first_number(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        number = _number(headers.get(name))
        if number is not None:
            return number
    return None


def _params(value: str) -> Iterable[tuple[str, str]]:
    for piece in value.split(";")[1:]:
        name, _, param = piece.partition("=")
        yield name.strip().lower(), param.strip()


# -- redaction ----------------------------------------------------------------------------


def safe_url(url: httpx.URL, secrets: Iterable[str]) -> str:
    """A URL fit for an error: no credentials, no query string, secrets in the path scrubbed."""
    from hub._redact import redact_text

    port = f":{url.port}" if url.port else ""
    shown = f"{url.scheme}://{url.host}{port}{url.path}" + ("?<query>" if url.query else "")
    return redact_text(shown, secrets)


def redact_body(response: httpx.Response, secrets: Iterable[str], limit: int) -> str:
    """The response body as redacted text, cut to ``limit`` characters after redacting."""
    from hub._redact import redact_json, redact_text

    secrets = list(secrets)
    text = response.content.decode(response.encoding or "utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        text = redact_text(text, secrets)
    else:
        text = json.dumps(redact_json(data, secrets), ensure_ascii=False, separators=(",", ":"))
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit} more characters)"
    return text


def scrub(error: HubError, secrets: Iterable[str]) -> HubError:
    """Redact an error's message, vendor code and ``raw`` in place, whoever built it."""
    from hub._redact import redact_json, redact_text

    secrets = list(secrets)
    error.message = redact_text(error.message, secrets)
    error.args = (error.message,)
    if isinstance(error, ProviderError | InvalidRequest):
        if error.vendor_code is not None:
            error.vendor_code = redact_text(error.vendor_code, secrets)
        if isinstance(error.raw, str):
            error.raw = redact_text(error.raw, secrets)
        elif error.raw is not None:
            error.raw = redact_json(error.raw, secrets)
    return error


def shorten(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


# -- the mappings -------------------------------------------------------------------------


def transport_error(
    exc: Exception, *, provider: str, target: str, repeatable: bool
) -> ProviderError:
    """The hub error for an httpx exception raised before a complete answer arrived."""
    detail = f"{type(exc).__name__}: {shorten(str(exc))}" if str(exc) else type(exc).__name__
    where = f"{provider}: {target}"
    maybe = "the request may have been processed"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
        if _never_sent(exc):
            return Unavailable(
                f"{where}: could not connect ({detail}); nothing was sent, so retrying or "
                "failing over is safe",
                provider=provider,
                retryable=True,
                failover_safe=True,
            )
        return Unavailable(
            f"{where}: the connection failed ({detail}); {maybe}",
            provider=provider,
            retryable=repeatable,
            failover_safe=False,
        )
    if isinstance(exc, httpx.PoolTimeout):
        return Timeout(
            f"{where}: no pooled connection became free in time ({detail}); nothing was sent. "
            "Raise http.max_connections or lower the concurrency limit",
            provider=provider,
            retryable=True,
            failover_safe=True,
        )
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(
            f"{where}: no answer in time ({detail}); {maybe}",
            provider=provider,
            retryable=repeatable,
            failover_safe=False,
        )
    if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ProviderError(
            f"{where}: the request could not be sent ({detail}); this is a bug in the "
            f"{provider} plugin or its settings (base_url)",
            provider=provider,
            retryable=False,
            failover_safe=True,
        )
    if isinstance(exc, httpx.TransportError):  # read/write errors, dropped connections
        return Unavailable(
            f"{where}: the connection broke ({detail}); {maybe}",
            provider=provider,
            retryable=repeatable,
            failover_safe=False,
        )
    return ProviderError(  # decoding errors and the like: an answer came, unusable
        f"{where}: the answer could not be read ({detail}); {maybe}",
        provider=provider,
        retryable=False,
        failover_safe=False,
    )


def _never_sent(exc: Exception) -> bool:
    """Whether a connect-phase error really happened before sending.

    httpx's own transport raises these only while connecting. httpx-aiohttp maps every
    ``aiohttp.ClientConnectionError`` (server disconnects included) to ConnectTimeout, so its
    original exception decides.
    """
    cause = exc.__cause__
    if cause is None or not type(cause).__module__.startswith("aiohttp"):
        return True
    return any(kind.__name__ in _AIOHTTP_NEVER_SENT for kind in type(cause).__mro__)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a vendor said, already redacted: the input of :func:`status_error`."""

    status: int
    provider: str
    target: str
    message: str
    vendor_code: str | None
    retry_after: float | None
    rate_limit: RateLimitInfo | None
    body: str
    request_id: str | None

    def raw(self) -> dict[str, Any]:
        """The summary kept on an error: never the request's headers."""
        raw: dict[str, Any] = {
            "status": self.status,
            "request": self.target,
            "vendor_code": self.vendor_code,
            "body": self.body,
        }
        if self.request_id:
            raw["request_id"] = self.request_id
        if self.rate_limit is not None:
            raw["rate_limit"] = asdict(self.rate_limit)
        return raw

    def describe(self, what: str) -> str:
        code = f", code {self.vendor_code}" if self.vendor_code else ""
        said = f": {self.message}" if self.message else ""
        return f"{self.provider}: {what} (HTTP {self.status}{code}) for {self.target}{said}"


#: What an InvalidRequest from a vendor tells the caller unless the plugin knows better.
FIX_INPUT = "fix the input, the same request will fail again"


def invalid_request(
    answer: Answer,
    *,
    field: str | None = None,
    hint: str | None = None,
    what: str = "the vendor rejected the request as invalid",
) -> InvalidRequest:
    """The InvalidRequest for a vendor's refusal: never retried, ``hint`` says how to fix it."""
    return InvalidRequest(
        f"{answer.describe(what)}; {hint or FIX_INPUT}",
        field=field,
        provider=answer.provider,
        vendor_code=answer.vendor_code,
        raw=answer.raw(),
    )


def status_error(answer: Answer, *, unavailable_503_failover_safe: bool = True) -> HubError:
    """The default mapping of an unexpected status onto the error tree."""
    status, provider = answer.status, answer.provider
    common: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "vendor_code": answer.vendor_code,
        "raw": answer.raw(),
    }
    if status in (400, 422):
        return invalid_request(answer)
    if status == 409:
        return invalid_request(
            answer,
            what="conflict",
            hint="the resource changed, or an idempotency key was reused with other parameters",
        )
    if status in (401, 403):
        return AuthenticationError(
            answer.describe("credentials refused")
            + f"; check the {provider} API key and its permissions",
            **common,
        )
    if status in (404, 410):
        return NotFound(answer.describe("not found"), **common)
    if status == 408:
        return Timeout(
            answer.describe("the vendor timed out waiting for the request"),
            retryable=True,
            failover_safe=True,
            **common,
        )
    if status == 429:
        wait = answer.retry_after
        hint = f"; retry after {wait:g} s" if wait is not None else "; slow down"
        return RateLimited(answer.describe("rate limited") + hint, retry_after=wait, **common)
    if status in (501, 505):
        return ProviderError(
            answer.describe("not supported by the vendor"),
            retryable=False,
            failover_safe=True,
            **common,
        )
    if status == 503:
        return Unavailable(
            answer.describe("temporarily unavailable"),
            retry_after=answer.retry_after,
            failover_safe=unavailable_503_failover_safe,
            **common,
        )
    if status >= 500:
        return Unavailable(
            answer.describe("the vendor failed") + "; the request may have been processed",
            retry_after=answer.retry_after,
            failover_safe=False,
            **common,
        )
    if status >= 400:
        return ProviderError(
            answer.describe("request refused"), retryable=False, failover_safe=False, **common
        )
    return ProviderError(
        answer.describe("unexpected answer"), retryable=False, failover_safe=False, **common
    )
