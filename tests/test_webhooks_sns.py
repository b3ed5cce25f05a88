"""hub.webhooks.sns: the string SNS signs, its signatures, and where its certificates may come from.

A self-signed certificate plays SNS's; the injected fetch serves it for an SNS URL, so nothing
leaves the process.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hub.errors import WebhookError
from hub.webhooks.certificates import CertificateStore
from hub.webhooks.sns import (
    check_sns_url,
    sign_sns,
    sns_certificates,
    sns_timestamp,
    string_to_sign,
    verify_sns,
)

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc123.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:events"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return built.public_bytes(serialization.Encoding.PEM)


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = _certificate(KEY)


def notification(*, age: timedelta = timedelta(), **fields: Any) -> dict[str, Any]:
    when = datetime.now(UTC) - age
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": '{"hello": "world"}',
        "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SigningCertURL": CERT_URL,
        **fields,
    }


@pytest.fixture
async def certificates() -> CertificateStore:
    async def fetch(url: str) -> bytes:
        assert url == CERT_URL
        return PEM

    loaded = sns_certificates(fetch)
    await loaded.load(CERT_URL)  # what a handler's prepare() does
    return loaded


def test_the_signed_string_is_name_newline_value_newline_in_sns_order() -> None:
    message = notification(Subject="Hi")
    assert (
        string_to_sign(message)
        == (
            'Message\n{"hello": "world"}\n'
            "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
            "Subject\nHi\n"
            f"Timestamp\n{message['Timestamp']}\n"
            f"TopicArn\n{TOPIC}\n"
            "Type\nNotification\n"
        ).encode()
    )
    assert b"Subject" not in string_to_sign(notification())  # signed only when present


def test_subscription_confirmations_sign_their_token_and_url() -> None:
    message = {
        **notification(),
        "Type": "SubscriptionConfirmation",
        "Token": "tok",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
    }
    signed = string_to_sign(message).decode()
    assert "SubscribeURL\nhttps://sns" in signed
    assert "Token\ntok\n" in signed


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.anyio
async def test_a_signed_message_verifies(certificates: CertificateStore, version: str) -> None:
    verify_sns(sign_sns(notification(), KEY, version=version), certificates=certificates)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_signature_version_decides_the_hash(certificates: CertificateStore) -> None:
    signed = sign_sns(notification(), KEY, version="1")
    with pytest.raises(WebhookError, match="does not match"):
        verify_sns({**signed, "SignatureVersion": "2"}, certificates=certificates)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"Message": "tampered"}, "does not match"),
        ({"Subject": "added"}, "does not match"),
        ({"SignatureVersion": "3"}, "SignatureVersion"),
        ({"Signature": ""}, "no Signature"),
        ({"Signature": "not base64!"}, "base64"),
        ({"Type": "Other"}, "Type"),
        ({"MessageId": 42}, "MessageId"),
        ({"SigningCertURL": "https://evil.example/cert.pem"}, "SigningCertURL"),
    ],
)
@pytest.mark.anyio
async def test_anything_else_is_refused(
    certificates: CertificateStore, change: dict[str, Any], error: str
) -> None:
    message = {**sign_sns(notification(), KEY), **change}
    with pytest.raises(WebhookError, match=error):
        verify_sns(message, certificates=certificates)


@pytest.mark.anyio
async def test_a_signature_by_another_key_is_refused(certificates: CertificateStore) -> None:
    with pytest.raises(WebhookError, match="does not match"):
        verify_sns(sign_sns(notification(), OTHER_KEY), certificates=certificates)


@pytest.mark.anyio
async def test_a_certificate_not_loaded_yet_asks_for_prepare() -> None:
    async def never(url: str) -> bytes:
        raise AssertionError("verify must not fetch")

    with pytest.raises(WebhookError, match="prepare"):
        verify_sns(sign_sns(notification(), KEY), certificates=sns_certificates(never))


@pytest.mark.anyio
async def test_age_is_checked_after_the_signature(certificates: CertificateStore) -> None:
    old = sign_sns(notification(age=timedelta(hours=2)), KEY)
    with pytest.raises(WebhookError, match="stale"):
        verify_sns(old, certificates=certificates, tolerance=3600)
    verify_sns(old, certificates=certificates, tolerance=None)  # no age limit
    forged_and_old = {**old, "Message": "x"}
    with pytest.raises(WebhookError, match="does not match"):
        verify_sns(forged_and_old, certificates=certificates, tolerance=3600)


def test_timestamps_are_parsed_as_utc() -> None:
    assert sns_timestamp({"Timestamp": "2024-05-01T12:00:00.000Z"}) == 1714564800
    for bad in (None, "yesterday", "x" * 50, 1714564800):
        with pytest.raises(WebhookError, match="Timestamp"):
            sns_timestamp({"Timestamp": bad})


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
    ],
)
def test_sns_hosts_are_accepted(url: str) -> None:
    assert check_sns_url(url, "SubscribeURL") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/",
        "https://sns.us-east-1.amazonaws.com.evil.example/",
        "https://s3.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/",
        "https://sns.us-east-1.amazonaws.com:8443/",
    ],
)
def test_other_hosts_are_refused(url: str) -> None:
    with pytest.raises(WebhookError, match="SubscribeURL"):
        check_sns_url(url, "SubscribeURL")


def test_signatures_are_base64_of_rsa_pkcs1() -> None:
    signed = sign_sns(notification(), KEY, version="2")
    assert signed["SignatureVersion"] == "2"
    assert len(base64.b64decode(signed["Signature"])) == 256  # a 2048-bit RSA signature
