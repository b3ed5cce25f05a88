"""Signature checks that vendor webhook handlers are built from.

Every vendor signs its webhooks a little differently, but the dangerous parts are the same: compare
in constant time, refuse old or future timestamps so a captured request cannot be replayed later,
accept several secrets so a secret can be rotated without downtime, and turn *any* malformed input
into :class:`~hub.errors.WebhookError` so the receiver refuses it instead of crashing. Those parts
live here once; plugins only say which string is signed, with what, and in which header.

Each ``verify_*`` function returns ``None`` or raises ``WebhookError`` with a short message saying
what was wrong. Messages never contain a secret, the expected signature, or the received value.
Each ``sign_*`` function builds the headers a vendor would send, for tests and fakes.

A secret that cannot be used at all (none given, empty, not the advertised encoding, a public key
that is not P-256) is the operator's mistake, not the sender's, and raises
:class:`~hub.errors.ConfigurationError` instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.errors import ConfigurationError, WebhookError

__all__ = [
    "DEFAULT_TOLERANCE",
    "check_timestamp",
    "hmac_signature",
    "required_header",
    "sign_basic_auth",
    "sign_ecdsa",
    "sign_sendgrid",
    "sign_standard_webhook",
    "sign_stripe",
    "sign_twilio",
    "twilio_signature",
    "verify_basic_auth",
    "verify_ecdsa",
    "verify_hmac",
    "verify_sendgrid",
    "verify_standard_webhook",
    "verify_stripe",
    "verify_twilio",
]

Algorithm = Literal["sha1", "sha256"]
Encoding = Literal["hex", "base64"]
Secrets = Sequence[str | bytes]
#: Form parameters: a mapping, ``(name, value)`` pairs, or a multi-dict with ``multi_items()``.
Params = Mapping[str, str] | Iterable[tuple[str, str]]

DEFAULT_TOLERANCE = 300.0
# Longer than any unix timestamp we will meet; bounds the work int() does on hostile input.
_MAX_TIMESTAMP_DIGITS = 15


# --- shared mechanism -------------------------------------------------------------------------


def _utf8(value: str | bytes, what: str) -> bytes:
    """Encode text the way vendors sign it; a lone surrogate is malformed input, not a crash."""
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise WebhookError(f"{what} is not valid UTF-8") from None


def _ascii(value: str, what: str) -> str:
    """Signatures, ids and timestamps are ASCII; anything else cannot match and is refused early."""
    if not value.isascii():
        raise WebhookError(f"malformed {what}: not ASCII")
    return value


def required_header(headers: Mapping[str, str], name: str) -> str:
    """A header's value, stripped, looked up case-insensitively (plain dicts as well as httpx or
    Starlette headers); WebhookError if it is missing, empty or not ASCII."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if value is None or not value.strip():
        raise WebhookError(f"missing {name} header")
    return _ascii(value, f"{name} header").strip()


def _every_header(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of a header that may be repeated (Starlette ``getlist``, httpx ``get_list``)."""
    for method in ("getlist", "get_list"):
        getlist = getattr(headers, method, None)
        if callable(getlist):
            return list(getlist(name))
    wanted = name.lower()
    return [value for key, value in headers.items() if key.lower() == wanted]


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError(f"malformed {what}: not base64") from None


def _keys(secrets: Secrets, convert: Callable[[str | bytes], bytes]) -> list[bytes]:
    """Turn the active secrets into HMAC keys, refusing an empty list rather than matching nothing.

    A lone string is accepted as one secret: ``secrets="abc"`` type-checks as a sequence of
    three one-letter secrets, which is never what was meant.
    """
    if isinstance(secrets, str | bytes):
        secrets = [secrets]
    keys = [convert(secret) for secret in secrets]
    if not keys or not all(keys):
        raise ConfigurationError("webhook verification needs at least one non-empty secret")
    return keys


def _plain_key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _equal(a: str, b: str) -> bool:
    # compare_digest refuses non-ASCII str, so compare the encoded bytes instead.
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _any_matches(expected: Iterable[str], provided: Sequence[str]) -> bool:
    """True if any expected signature (one per our secret) equals any the sender provided."""
    return any(_equal(want, got) for want in expected for got in provided)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def check_timestamp(
    timestamp: str | int,
    *,
    tolerance: float | timedelta = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Parse a unix-seconds timestamp and refuse it if it is further than ``tolerance`` from now.

    This is what makes a captured request useless to replay later. Future timestamps are refused
    too: a sender clock far ahead would otherwise stretch the replay window. Returns the timestamp.
    """
    if isinstance(timestamp, str):
        text = _ascii(timestamp, "timestamp")
        if not text.isdigit() or len(text) > _MAX_TIMESTAMP_DIGITS:
            raise WebhookError("malformed timestamp: expected unix seconds")
        timestamp = int(text)
    window = _seconds(tolerance)
    if window < 0:
        raise ConfigurationError("timestamp tolerance must not be negative")
    age = (time.time() if now is None else now) - timestamp
    if age > window:
        raise WebhookError("stale timestamp: request is older than the tolerance")
    if age < -window:
        raise WebhookError("timestamp is in the future beyond the tolerance")
    return timestamp


# --- plain HMAC -------------------------------------------------------------------------------


def hmac_signature(
    secret: str | bytes,
    message: str | bytes,
    *,
    algorithm: Algorithm = "sha256",
    encoding: Encoding = "hex",
) -> str:
    """HMAC ``message`` with ``secret`` and encode it as the vendor sends it (hex or base64)."""
    if algorithm not in ("sha1", "sha256"):
        raise ConfigurationError(f"unsupported HMAC algorithm {algorithm!r}")
    digest = hmac.new(_plain_key(secret), _utf8(message, "signed content"), algorithm).digest()
    if encoding == "hex":
        return digest.hex()
    if encoding == "base64":
        return base64.b64encode(digest).decode("ascii")
    raise ConfigurationError(f"unsupported signature encoding {encoding!r}")


def verify_hmac(
    message: str | bytes,
    signature: str,
    *,
    secrets: Secrets,
    algorithm: Algorithm = "sha256",
    encoding: Encoding = "hex",
) -> None:
    """Check a vendor HMAC over a signed string the plugin assembled (Mailgun and the like).

    Timestamped vendors whose timestamp travels outside a header (Mailgun puts it in the body)
    should call :func:`check_timestamp` as well.
    """
    keys = _keys(secrets, _plain_key)
    if not signature:
        raise WebhookError("missing signature")
    provided = _ascii(signature, "signature")
    expected = (hmac_signature(k, message, algorithm=algorithm, encoding=encoding) for k in keys)
    if not _any_matches(expected, [provided]):
        raise WebhookError("signature mismatch")


# --- HTTP Basic credentials (Postmark, and any vendor that only offers user:password@ URLs) ---

_AUTHORIZATION = "Authorization"


def _same(a: bytes, b: bytes) -> bool:
    """Constant time, and the length of the secret is not revealed either (digests are equal)."""
    return hmac.compare_digest(hashlib.sha256(a).digest(), hashlib.sha256(b).digest())


def _check_username(username: str) -> None:
    if not username or ":" in username:
        raise ConfigurationError(
            "webhook Basic authentication needs a non-empty user name without ':'"
        )


def sign_basic_auth(username: str, password: str) -> dict[str, str]:
    """The header a sender attaches for ``https://<username>:<password>@host/...`` URLs."""
    _check_username(username)
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {_AUTHORIZATION: f"Basic {token}"}


def verify_basic_auth(headers: Mapping[str, str], username: str, passwords: Secrets) -> None:
    """Check HTTP Basic credentials against ``username`` and any of ``passwords`` (rotation).

    Vendors without signatures put the credentials in the webhook URL. Every password is
    compared, in constant time, whatever the outcome of the others, and a request with more
    than one Authorization header is refused rather than judged by either. There is no
    timestamp, so replay protection rests on deduplicating event ids.
    """
    _check_username(username)
    keys = _keys(passwords, _plain_key)
    found = _every_header(headers, _AUTHORIZATION)
    if len(found) > 1:
        raise WebhookError("more than one Authorization header")
    if not found or not found[0].strip():
        raise WebhookError(
            "missing Authorization header: put the credentials in the webhook URL "
            "(https://<user>:<password>@<your host>/webhooks/<provider>)"
        )
    scheme, _, token = _ascii(found[0], "Authorization header").strip().partition(" ")
    if scheme.lower() != "basic":
        raise WebhookError("expected HTTP Basic credentials in the Authorization header")
    decoded = _b64decode(token.strip(), "Basic credentials")
    user, colon, password = decoded.partition(b":")
    if not colon:
        raise WebhookError("malformed Basic credentials: no ':' between user and password")
    user_ok = _same(user, _utf8(username, "user name"))
    password_ok = False
    for key in keys:  # no early exit: the time taken does not say which password matched
        password_ok |= _same(password, key)
    if not (user_ok and password_ok):
        raise WebhookError("credentials mismatch")


# --- Stripe: "t=<ts>,v1=<hex>,v1=<hex>" -------------------------------------------------------


def _stripe_payload(timestamp: int | str, body: str | bytes) -> bytes:
    return f"{timestamp}.".encode("ascii") + _utf8(body, "body")


def sign_stripe(
    body: str | bytes, *, secret: str | bytes, timestamp: int, header: str = "Stripe-Signature"
) -> dict[str, str]:
    """Headers Stripe would send for ``body``: one ``v1`` HMAC-SHA256 over ``"{t}.{body}"``."""
    signature = hmac_signature(secret, _stripe_payload(timestamp, body))
    return {header: f"t={timestamp},v1={signature}"}


def verify_stripe(
    headers: Mapping[str, str],
    body: str | bytes,
    *,
    secrets: Secrets,
    tolerance: float | timedelta = DEFAULT_TOLERANCE,
    now: float | None = None,
    header: str = "Stripe-Signature",
) -> None:
    """Verify a Stripe-style ``t=...,v1=...`` header.

    Several ``v1`` values may be present (Stripe sends one per active endpoint secret while one is
    being rolled); other schemes such as ``v0`` are ignored, as Stripe's own libraries do. The
    signature is checked before the age, so a genuine-but-late request is reported as stale.
    """
    keys = _keys(secrets, _plain_key)
    timestamps: list[str] = []
    provided: list[str] = []
    for item in required_header(headers, header).split(","):
        name, sep, value = item.strip().partition("=")
        if sep and name == "t":
            timestamps.append(value)
        elif sep and name == "v1" and value:
            provided.append(value)
    if len(timestamps) != 1:
        raise WebhookError(f"malformed {header} header: expected exactly one t= timestamp")
    if not provided:
        raise WebhookError(f"malformed {header} header: no v1 signature")
    timestamp = timestamps[0]
    expected = (hmac_signature(k, _stripe_payload(timestamp, body)) for k in keys)
    if not _any_matches(expected, provided):
        raise WebhookError("signature mismatch")
    check_timestamp(timestamp, tolerance=tolerance, now=now)


# --- Standard Webhooks (standardwebhooks.com) ------------------------------------------------


def _standard_key(secret: str | bytes) -> bytes:
    """A ``whsec_<base64>`` string (or bare base64) is decoded; ``bytes`` are the raw key."""
    if isinstance(secret, bytes):
        return secret
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("a Standard Webhooks secret must be whsec_<base64>") from None


def _standard_signature(key: bytes, msg_id: str, timestamp: str | int, body: str | bytes) -> str:
    content = _utf8(f"{msg_id}.{timestamp}.", "webhook-id") + _utf8(body, "body")
    return hmac_signature(key, content, encoding="base64")


def sign_standard_webhook(
    body: str | bytes, *, secret: str | bytes, msg_id: str, timestamp: int
) -> dict[str, str]:
    """The three headers a Standard Webhooks sender attaches to ``body``."""
    signature = _standard_signature(_standard_key(secret), msg_id, timestamp, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


def verify_standard_webhook(
    headers: Mapping[str, str],
    body: str | bytes,
    *,
    secrets: Secrets,
    tolerance: float | timedelta = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Verify ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` per the spec.

    The signature header is a space-separated list of ``<version>,<base64>``; only ``v1``
    (HMAC-SHA256) is understood, other versions such as ``v1a`` (ed25519) are skipped. As
    everywhere here, the signature is checked before the age, so "stale" means genuine but late.
    """
    keys = _keys(secrets, _standard_key)
    msg_id = required_header(headers, "webhook-id")
    timestamp = required_header(headers, "webhook-timestamp")
    provided = [
        value
        for entry in required_header(headers, "webhook-signature").split()
        for version, sep, value in [entry.partition(",")]
        if sep and version == "v1" and value
    ]
    if not provided:
        raise WebhookError("malformed webhook-signature header: no v1 signature")
    expected = (_standard_signature(k, msg_id, timestamp, body) for k in keys)
    if not _any_matches(expected, provided):
        raise WebhookError("signature mismatch")
    check_timestamp(timestamp, tolerance=tolerance, now=now)


# --- ECDSA P-256 (SendGrid Event Webhook) -----------------------------------------------------


_SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
_SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@lru_cache(maxsize=32)
def _public_key(key: str | bytes) -> ec.EllipticCurvePublicKey:
    """Load a P-256 public key: base64 DER text (what vendor dashboards show) or DER bytes."""
    try:
        der = base64.b64decode(key, validate=True) if isinstance(key, str) else key
        loaded = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(
            "webhook public key is not base64 DER SubjectPublicKeyInfo"
        ) from None
    if not isinstance(loaded, ec.EllipticCurvePublicKey) or loaded.curve.name != "secp256r1":
        raise ConfigurationError("webhook public key must be an ECDSA P-256 key")
    return loaded


def sign_ecdsa(payload: str | bytes, *, private_key: ec.EllipticCurvePrivateKey) -> str:
    """Base64 DER ECDSA-SHA256 signature of ``payload``; for tests and fakes."""
    signature = private_key.sign(_utf8(payload, "payload"), ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")


def verify_ecdsa(payload: str | bytes, signature: str, *, public_keys: Secrets) -> None:
    """Check a base64 DER ECDSA-SHA256 signature against any of the (rotating) public keys."""
    if isinstance(public_keys, str | bytes):
        public_keys = [public_keys]
    loaded = [_public_key(key) for key in public_keys]
    if not loaded:
        raise ConfigurationError("webhook verification needs at least one public key")
    if not signature:
        raise WebhookError("missing signature")
    der = _b64decode(_ascii(signature, "signature"), "signature")
    data = _utf8(payload, "payload")
    for key in loaded:
        try:
            key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            continue
        return
    raise WebhookError("signature mismatch")


def sign_sendgrid(
    body: str | bytes, *, private_key: ec.EllipticCurvePrivateKey, timestamp: int
) -> dict[str, str]:
    """Headers SendGrid's signed Event Webhook would send for ``body``."""
    payload = str(timestamp).encode("ascii") + _utf8(body, "body")
    return {
        _SENDGRID_SIGNATURE: sign_ecdsa(payload, private_key=private_key),
        _SENDGRID_TIMESTAMP: str(timestamp),
    }


def verify_sendgrid(
    headers: Mapping[str, str],
    body: str | bytes,
    *,
    public_keys: Secrets,
    tolerance: float | timedelta = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Verify SendGrid's ECDSA signature over ``timestamp + body``, then the timestamp's age."""
    signature = required_header(headers, _SENDGRID_SIGNATURE)
    timestamp = required_header(headers, _SENDGRID_TIMESTAMP)
    verify_ecdsa(
        timestamp.encode("ascii") + _utf8(body, "body"), signature, public_keys=public_keys
    )
    check_timestamp(timestamp, tolerance=tolerance, now=now)


# --- Twilio: HMAC-SHA1 over URL + sorted form params -------------------------------------------


def _param_pairs(params: Params) -> Iterable[tuple[str, str]]:
    multi_items = getattr(params, "multi_items", None)  # Starlette FormData keeps repeats here
    if callable(multi_items):
        pairs: Iterable[tuple[str, str]] = multi_items()
        return pairs
    if isinstance(params, Mapping):
        return params.items()
    return params


def twilio_signature(url: str, params: Params = (), *, secret: str | bytes) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL + each name+value, sorted.

    Names are sorted, and a repeated name contributes each distinct value in sorted order, as
    Twilio's own validator does.
    """
    grouped: dict[str, set[str]] = {}
    for name, value in _param_pairs(params):
        grouped.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    return hmac_signature(secret, signed, algorithm="sha1", encoding="base64")


def sign_twilio(url: str, params: Params = (), *, secret: str | bytes) -> dict[str, str]:
    """Headers Twilio would send; for a JSON body put ``bodySHA256=<hex>`` in ``url`` first."""
    return {"X-Twilio-Signature": twilio_signature(url, params, secret=secret)}


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port, and with its port (the scheme's default if none).

    Twilio signs the URL it called, and whether that includes ``:443`` depends on how the
    webhook was configured, while proxies decide what the app sees; Twilio's validator tries both.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError("malformed request URL") from None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport.rsplit(":", 1)[0] if port is not None else hostport
    variants = [url, urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}"))]
    if default is not None:
        port_netloc = f"{userinfo}{at}{host}:{port if port is not None else default}"
        variants.append(urlunsplit(parts._replace(netloc=port_netloc)))
    return list(dict.fromkeys(variants))


def verify_twilio(
    headers: Mapping[str, str],
    url: str,
    *,
    secrets: Secrets,
    params: Params = (),
    body: str | bytes | None = None,
) -> None:
    """Verify ``X-Twilio-Signature`` for a form POST (``params``) or a JSON POST (``body``).

    ``url`` must be the full URL Twilio requested, query string included. For JSON bodies Twilio
    signs only the URL and proves the body through its ``bodySHA256`` query parameter, so a body
    is refused unless that parameter matches it (``params`` are then ignored). Twilio sends no
    timestamp, so there is no age check: replay protection rests on deduplicating event ids.
    """
    keys = _keys(secrets, _plain_key)
    signature = required_header(headers, "X-Twilio-Signature")
    variants = _url_variants(url)
    if body is not None:
        hashes_in_url = parse_qs(urlsplit(url).query).get("bodySHA256", [])
        if len(hashes_in_url) != 1:
            raise WebhookError("a JSON body needs exactly one bodySHA256 URL parameter")
        if not _equal(hashlib.sha256(_utf8(body, "body")).hexdigest(), hashes_in_url[0]):
            raise WebhookError("body does not match bodySHA256")
        params = ()
    pairs = list(_param_pairs(params))
    expected = (twilio_signature(u, pairs, secret=k) for k in keys for u in variants)
    if not _any_matches(expected, [signature]):
        raise WebhookError("signature mismatch")
