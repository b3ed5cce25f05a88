"""PayPal's webhook signature, verified offline as PayPal documents it.

PayPal signs ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>``
(the CRC as an unsigned decimal) with SHA256withRSA, and names the X.509 certificate holding
the public key in ``PAYPAL-CERT-URL``. The URL comes from the request, so it is accepted only
over HTTPS from PayPal's API hosts under ``/v1/notifications/certs/``; certificates are fetched
once per URL and cached, and one outside its validity period is refused.

The handler's ``verify`` is synchronous, so the first request naming a new certificate fetches it
synchronously (a few hundred milliseconds, once per certificate PayPal rotates to); the fetch is
injectable (``CertificateStore(fetch=...)``) for tests and for apps that pre-load certificates.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.errors import ConfigurationError, WebhookError
from hub.webhooks.signatures import check_timestamp

__all__ = [
    "CERT_HOSTS",
    "CertificateStore",
    "Fetch",
    "sign_paypal",
    "signed_message",
    "verify_paypal",
]

#: Hosts PayPal serves its webhook certificates from (live and sandbox).
CERT_HOSTS = frozenset(
    {"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"}
)
_CERT_PATH = "/v1/notifications/certs/"
_ALGORITHM = "sha256withrsa"
_MAX_CERT_BYTES = 64 * 1024
_MAX_CACHED = 16
Fetch = Callable[[str], bytes]

TRANSMISSION_ID = "PAYPAL-TRANSMISSION-ID"
TRANSMISSION_TIME = "PAYPAL-TRANSMISSION-TIME"
TRANSMISSION_SIG = "PAYPAL-TRANSMISSION-SIG"
CERT_URL = "PAYPAL-CERT-URL"
AUTH_ALGO = "PAYPAL-AUTH-ALGO"


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    """What PayPal signs for one delivery of ``body`` to the webhook ``webhook_id``."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def _fetch(url: str) -> bytes:
    """Download a certificate (PEM) over HTTPS; no redirects, bounded size."""
    try:
        response = httpx.get(url, timeout=5.0, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise WebhookError(
            f"could not fetch the PayPal certificate: {type(exc).__name__}"
        ) from None
    if response.status_code != 200 or len(response.content) > _MAX_CERT_BYTES:
        raise WebhookError(f"could not fetch the PayPal certificate (HTTP {response.status_code})")
    return response.content


class CertificateStore:
    """PayPal's signing certificates by URL: fetched once, kept (a few) in memory."""

    def __init__(self, fetch: Fetch | None = None) -> None:
        self.fetch: Fetch = fetch or _fetch
        self._certificates: dict[str, x509.Certificate] = {}

    def public_key(self, url: str, *, now: datetime | None = None) -> rsa.RSAPublicKey:
        """The RSA key of the certificate at ``url`` (an allowed URL), valid ``now``."""
        certificate = self._certificates.get(url)
        if certificate is None:
            try:
                certificate = x509.load_pem_x509_certificate(self.fetch(url))
            except ValueError:
                raise WebhookError("PAYPAL-CERT-URL does not serve a PEM certificate") from None
            if len(self._certificates) >= _MAX_CACHED:
                self._certificates.pop(next(iter(self._certificates)))
            self._certificates[url] = certificate
        moment = now or datetime.now(UTC)
        if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
            raise WebhookError("the PayPal signing certificate is outside its validity period")
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookError("the PayPal signing certificate does not hold an RSA key")
        return key


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    if value is None or not value.strip():
        raise WebhookError(f"missing {name} header")
    if not value.isascii():
        raise WebhookError(f"malformed {name} header: not ASCII")
    return value.strip()


def _certificate_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError("malformed PAYPAL-CERT-URL") from None
    if (
        parts.scheme != "https"
        or parts.hostname not in CERT_HOSTS
        or parts.username is not None
        or port not in (None, 443)
        or not parts.path.startswith(_CERT_PATH)
    ):
        raise WebhookError("PAYPAL-CERT-URL is not a PayPal certificate URL")
    return url


def _epoch(transmission_time: str) -> int:
    try:
        when = datetime.fromisoformat(transmission_time)
    except ValueError:
        raise WebhookError("malformed PAYPAL-TRANSMISSION-TIME: not an ISO 8601 time") from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def verify_paypal(
    headers: Mapping[str, str],
    body: bytes,
    *,
    webhook_ids: Iterable[str],
    certificates: CertificateStore,
    tolerance: float,
    now: float | None = None,
) -> None:
    """Raise WebhookError unless PayPal signed ``body`` for one of ``webhook_ids``, recently."""
    ids = [webhook_id for webhook_id in webhook_ids if webhook_id]
    if not ids:
        raise ConfigurationError(
            "PayPal webhooks need the webhook id: set PAYPAL_WEBHOOK_ID (the id PayPal shows "
            "for your webhook URL) or HUB_PAYMENTS__PAYPAL__WEBHOOK_ID"
        )
    transmission_id = _header(headers, TRANSMISSION_ID)
    transmission_time = _header(headers, TRANSMISSION_TIME)
    if _header(headers, AUTH_ALGO).lower() != _ALGORITHM:
        raise WebhookError("unsupported PAYPAL-AUTH-ALGO: expected SHA256withRSA")
    url = _certificate_url(_header(headers, CERT_URL))
    try:
        signature = base64.b64decode(_header(headers, TRANSMISSION_SIG), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("malformed PAYPAL-TRANSMISSION-SIG: not base64") from None
    epoch = _epoch(transmission_time)
    moment = datetime.fromtimestamp(now, UTC) if now is not None else None
    key = certificates.public_key(url, now=moment)
    for webhook_id in ids:
        message = signed_message(transmission_id, transmission_time, webhook_id, body)
        try:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        check_timestamp(epoch, tolerance=tolerance, now=now)
        return
    raise WebhookError("signature mismatch")


def sign_paypal(
    body: bytes,
    *,
    private_key: rsa.RSAPrivateKey,
    webhook_id: str,
    cert_url: str,
    transmission_id: str,
    transmission_time: str,
) -> dict[str, str]:
    """The headers PayPal would send with ``body``; for tests (PayPal holds the real key)."""
    message = signed_message(transmission_id, transmission_time, webhook_id, body)
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        TRANSMISSION_ID: transmission_id,
        TRANSMISSION_TIME: transmission_time,
        TRANSMISSION_SIG: base64.b64encode(signature).decode("ascii"),
        CERT_URL: cert_url,
        AUTH_ALGO: "SHA256withRSA",
    }
