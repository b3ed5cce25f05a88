"""Vonage's signed requests: the ``sig`` parameter, for outgoing sends and incoming webhooks.

Vonage signs a flat set of parameters (form fields, query parameters or a flat JSON object):
every parameter but ``sig``, sorted by name, written as ``&name=value`` with ``&`` and ``=``
inside values replaced by ``_``; then either MD5 of that string followed by the signature
secret (``md5hash``, the Dashboard's default) or an HMAC of it keyed with the secret (``md5``,
``sha1``, ``sha256``, ``sha512``), as lower-case hex. A ``timestamp`` parameter (unix seconds)
is part of the signed set, so a captured request goes stale. See
https://developer.vonage.com/en/getting-started/concepts/signing-messages.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import timedelta

from hub.errors import ConfigurationError, WebhookError
from hub.webhooks.signatures import check_timestamp
from hub_vonage.settings import SignatureMethod

__all__ = ["sign_params", "signature", "verify_params"]

_HMAC_DIGESTS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}


def _signed_string(params: Mapping[str, str]) -> str:
    return "".join(
        f"&{name}={value.replace('&', '_').replace('=', '_')}"
        for name, value in sorted(params.items())
        if name != "sig"
    )


def signature(params: Mapping[str, str], *, secret: str, method: SignatureMethod) -> str:
    """The ``sig`` Vonage expects for ``params`` (``sig`` itself, if present, is left out)."""
    if not secret:
        raise ConfigurationError("a Vonage signature needs a non-empty signature secret")
    signed = _signed_string(params).encode("utf-8")
    if method == "md5hash":
        # Vonage's documented legacy scheme; the HMAC methods are preferable (Dashboard setting).
        return hashlib.md5(signed + secret.encode("utf-8")).hexdigest()  # noqa: S324
    digest = _HMAC_DIGESTS.get(method)
    if digest is None:
        raise ConfigurationError(
            f"unknown Vonage signature method {method!r}; use md5hash, md5, sha1, sha256 or sha512"
        )
    return hmac.new(secret.encode("utf-8"), signed, digest).hexdigest()


def sign_params(
    params: Mapping[str, str], *, secret: str, method: SignatureMethod, timestamp: int
) -> dict[str, str]:
    """``params`` with ``timestamp`` and ``sig`` added: a signed request, or a forged webhook."""
    signed = {**params, "timestamp": str(timestamp)}
    signed["sig"] = signature(signed, secret=secret, method=method)
    return signed


def verify_params(
    params: Mapping[str, str],
    *,
    secrets: Sequence[str],
    method: SignatureMethod,
    tolerance: float | timedelta,
    now: float | None = None,
) -> None:
    """Raise WebhookError unless ``sig`` matches one of ``secrets`` and ``timestamp`` is fresh.

    The signature is checked before the age, so "stale" means genuine but late. Messages never
    carry the expected or the received signature.
    """
    if not secrets:
        raise ConfigurationError("Vonage webhook verification needs a signature secret")
    provided = params.get("sig", "")
    if not provided:
        raise WebhookError(
            "missing sig parameter: the request is not signed (ask Vonage to enable signed "
            "webhooks for the account)",
            provider="vonage",
        )
    timestamp = params.get("timestamp", "")
    if not timestamp:
        raise WebhookError("missing timestamp parameter of a signed request", provider="vonage")
    if not provided.isascii():
        raise WebhookError("malformed sig parameter: not ASCII", provider="vonage")
    received = provided.lower().encode("ascii")
    if not any(
        hmac.compare_digest(signature(params, secret=s, method=method).encode("ascii"), received)
        for s in secrets
    ):
        raise WebhookError("signature mismatch", provider="vonage")
    try:
        check_timestamp(timestamp, tolerance=tolerance, now=now)
    except WebhookError as exc:
        raise WebhookError(exc.message, provider="vonage") from None
