"""PayPal's webhook signature, verified offline as PayPal documents it.

PayPal signs ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>``
(the CRC as an unsigned decimal) with SHA256withRSA, and names the X.509 certificate holding
the public key in ``PAYPAL-CERT-URL``. The URL comes from the request, so certificates come from
the hub's :class:`~hub.webhooks.certificates.CertificateStore` (:func:`paypal_certificates`),
which fetches only over HTTPS from PayPal's API hosts under ``/v1/notifications/certs/``, once
per URL, and refuses one outside its validity period. The handler's ``async prepare`` loads the
certificate; :func:`verify_paypal` itself does no I/O.

Only PayPal signs this string, so it stays here; what SNS and PayPal share (certificate trust,
fetching, caching) is the hub's.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.errors import ConfigurationError, WebhookError
from hub.webhooks.certificates import CertificateStore, Fetch
from hub.webhooks.signatures import check_timestamp, required_header

__all__ = [
    "CERT_HOSTS",
    "CERT_URL",
    "paypal_certificates",
    "sign_paypal",
    "signed_message",
    "verify_paypal",
]

#: Hosts PayPal serves its webhook certificates from (live and sandbox).
CERT_HOSTS = re.compile(r"api(-m)?(\.sandbox)?\.paypal\.com")
_CERT_PATH = "/v1/notifications/certs/"
_ALGORITHM = "sha256withrsa"

TRANSMISSION_ID = "PAYPAL-TRANSMISSION-ID"
TRANSMISSION_TIME = "PAYPAL-TRANSMISSION-TIME"
TRANSMISSION_SIG = "PAYPAL-TRANSMISSION-SIG"
CERT_URL = "PAYPAL-CERT-URL"
AUTH_ALGO = "PAYPAL-AUTH-ALGO"


def paypal_certificates(fetch: Fetch) -> CertificateStore:
    """A certificate store that fetches only PayPal's webhook certificates."""
    return CertificateStore(
        hosts=CERT_HOSTS,
        fetch=fetch,
        vendor="PayPal",
        what=CERT_URL,
        path_prefix=_CERT_PATH,
        max_entries=16,
    )


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    """What PayPal signs for one delivery of ``body`` to the webhook ``webhook_id``."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


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
    """Raise WebhookError unless PayPal signed ``body`` for one of ``webhook_ids``, recently.

    The certificate named by ``PAYPAL-CERT-URL`` must be loaded in ``certificates`` already.
    """
    ids = [webhook_id for webhook_id in webhook_ids if webhook_id]
    if not ids:
        raise ConfigurationError(
            "PayPal webhooks need the webhook id: set PAYPAL_WEBHOOK_ID (the id PayPal shows "
            "for your webhook URL) or HUB_PAYMENTS__PAYPAL__WEBHOOK_ID"
        )
    transmission_id = required_header(headers, TRANSMISSION_ID)
    transmission_time = required_header(headers, TRANSMISSION_TIME)
    if required_header(headers, AUTH_ALGO).lower() != _ALGORITHM:
        raise WebhookError("unsupported PAYPAL-AUTH-ALGO: expected SHA256withRSA")
    url = certificates.check_url(required_header(headers, CERT_URL))
    try:
        signature = base64.b64decode(required_header(headers, TRANSMISSION_SIG), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("malformed PAYPAL-TRANSMISSION-SIG: not base64") from None
    epoch = _epoch(transmission_time)
    moment = datetime.fromtimestamp(now, UTC) if now is not None else None
    key = certificates.rsa_key(url, now=moment)
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
