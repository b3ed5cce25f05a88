"""Amazon SNS message signatures: the string SNS signs, where its certificates may come from.

SNS signs each HTTP(S) delivery with RSA over a canonical string of some of the message's
fields (``SignatureVersion`` 1: SHA1withRSA, 2: SHA256withRSA) and names the X.509 certificate
holding the key in ``SigningCertURL``. Trust comes from that URL: only HTTPS URLs on an SNS
host are fetched, so a forger cannot point us at a certificate of their own.

Nothing here is SES-specific: any plugin receiving SNS deliveries needs it, so it is the
candidate for ``verify_sns``/``sign_sns`` in :mod:`hub.webhooks.signatures`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.errors import WebhookError

__all__ = [
    "SNS_URL",
    "check_sns_url",
    "load_signing_key",
    "sign_sns",
    "sns_timestamp",
    "string_to_sign",
    "verify_sns",
]

#: Where SNS certificates and subscription URLs live: HTTPS on an SNS regional host.
SNS_URL = re.compile(r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")

#: The fields SNS signs, in order, per message type (AWS docs: "Verifying the signatures of
#: Amazon SNS messages"). ``Subject`` is signed only when the notification has one.
SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_OPTIONAL = frozenset({"Subject"})


def check_sns_url(url: object, what: str) -> str:
    """``url`` if it is an HTTPS URL on an SNS host (nothing else is ever fetched)."""
    if not isinstance(url, str) or not SNS_URL.match(url):
        raise WebhookError(f"{what} is not an https://sns.<region>.amazonaws.com/ URL")
    parts = urlsplit(url)
    if parts.netloc != parts.hostname or any(c in url for c in "\\ \t\r\n"):
        raise WebhookError(f"{what} is not an https://sns.<region>.amazonaws.com/ URL")
    return url


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """``"Name\\nvalue\\n"`` for each signed field of the message's type, in order."""
    fields = SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise WebhookError("unknown SNS message Type")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None and name in _OPTIONAL:
            continue
        if not isinstance(value, str):
            raise WebhookError(f"SNS message field {name} is missing or not a string")
        lines.append(f"{name}\n{value}\n")
    try:
        return "".join(lines).encode("utf-8")
    except UnicodeEncodeError:
        raise WebhookError("SNS message is not valid UTF-8") from None


def _hash(version: object) -> hashes.HashAlgorithm:
    if version == "1":
        return hashes.SHA1()  # noqa: S303 - SignatureVersion 1 is SHA1withRSA, as SNS defines it
    if version == "2":
        return hashes.SHA256()
    raise WebhookError("unsupported SNS SignatureVersion (expected 1 or 2)")


def verify_sns(message: Mapping[str, Any], key: rsa.RSAPublicKey) -> None:
    """Raise WebhookError unless ``message`` carries SNS's signature made with ``key``."""
    algorithm = _hash(message.get("SignatureVersion"))
    signature = message.get("Signature")
    if not isinstance(signature, str) or not signature:
        raise WebhookError("SNS message has no Signature")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("malformed SNS Signature: not base64") from None
    try:
        key.verify(raw, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise WebhookError("SNS signature does not match the message") from None


def load_signing_key(pem: bytes, *, now: datetime | None = None) -> rsa.RSAPublicKey:
    """The RSA key of a PEM certificate that is valid now; WebhookError for anything else."""
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise WebhookError("the SNS signing certificate is not a PEM X.509 certificate") from None
    moment = now or datetime.now(UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise WebhookError("the SNS signing certificate is expired or not yet valid")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookError("the SNS signing certificate does not hold an RSA key")
    return key


def sns_timestamp(message: Mapping[str, Any]) -> int:
    """The message's ``Timestamp`` (ISO 8601, UTC) as unix seconds."""
    value = message.get("Timestamp")
    if not isinstance(value, str) or not value.isascii() or len(value) > 40:
        raise WebhookError("SNS message has no valid Timestamp")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookError("SNS message has no valid Timestamp") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def sign_sns(
    message: Mapping[str, Any],
    private_key: rsa.RSAPrivateKey,
    *,
    version: Literal["1", "2"] = "2",
) -> dict[str, Any]:
    """A copy of ``message`` signed as SNS signs it (for tests and fakes)."""
    signed = {**message, "SignatureVersion": version}
    signature = private_key.sign(string_to_sign(signed), padding.PKCS1v15(), _hash(version))
    signed["Signature"] = base64.b64encode(signature).decode("ascii")
    return signed
