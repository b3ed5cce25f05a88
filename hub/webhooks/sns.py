"""Amazon SNS message signatures, for any plugin receiving SNS HTTP(S) deliveries (SES, SNS SMS).

SNS signs each delivery with RSA over a canonical string of some of the message's fields
(``SignatureVersion`` 1: SHA1withRSA, 2: SHA256withRSA) and names the X.509 certificate holding
the key in ``SigningCertURL``. Trust comes from that URL, so certificates come from a
:class:`~hub.webhooks.certificates.CertificateStore` that only fetches HTTPS URLs on an SNS host
(:func:`sns_certificates`). A handler loads the certificate in ``async prepare(request)``
(``await store.load(message["SigningCertURL"])``) and calls :func:`verify_sns` from ``verify``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.errors import WebhookError
from hub.webhooks.certificates import CertificateStore, Fetch, check_certificate_url
from hub.webhooks.signatures import DEFAULT_TOLERANCE, check_timestamp

__all__ = [
    "SIGNED_FIELDS",
    "SNS_HOSTS",
    "check_sns_url",
    "sign_sns",
    "sns_certificates",
    "sns_timestamp",
    "string_to_sign",
    "verify_sns",
]

#: Where SNS certificates and subscription URLs live: SNS's regional hosts (and China's).
SNS_HOSTS = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")

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
_CERT_FIELD = "SigningCertURL"


def sns_certificates(fetch: Fetch, *, max_entries: int = 32) -> CertificateStore:
    """A certificate store that fetches only from SNS hosts."""
    return CertificateStore(
        hosts=SNS_HOSTS, fetch=fetch, vendor="SNS", what=_CERT_FIELD, max_entries=max_entries
    )


def check_sns_url(url: object, what: str) -> str:
    """``url`` if it is an https URL on an SNS host (a SubscribeURL, a SigningCertURL)."""
    return check_certificate_url(url, hosts=SNS_HOSTS, what=what)


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


def verify_sns(
    message: Mapping[str, Any],
    *,
    certificates: CertificateStore,
    tolerance: float | timedelta | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise WebhookError unless SNS signed ``message`` with the key of its SigningCertURL.

    The certificate must already be in ``certificates`` (loaded by the handler's ``prepare``).
    As in :mod:`hub.webhooks.signatures`, the signature is checked before the age, so "stale"
    means genuine but older than ``tolerance`` (``None``: no age limit).
    """
    if not isinstance(message, Mapping):
        raise WebhookError("not an SNS message")
    algorithm = _hash(message.get("SignatureVersion"))
    signature = message.get("Signature")
    if not isinstance(signature, str) or not signature:
        raise WebhookError("SNS message has no Signature")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("malformed SNS Signature: not base64") from None
    moment = datetime.fromtimestamp(now, UTC) if now is not None else None
    key = certificates.rsa_key(message.get(_CERT_FIELD), now=moment)
    try:
        key.verify(raw, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise WebhookError("SNS signature does not match the message") from None
    if tolerance is not None:
        check_timestamp(sns_timestamp(message), tolerance=tolerance, now=now)


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
