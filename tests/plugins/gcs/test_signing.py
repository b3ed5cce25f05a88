"""V4 signed URLs, checked against Google's documented algorithm and its conformance vectors.

The expected URLs below (less their signatures) are from googleapis/conformance-tests,
``storage/v1/v4_signatures.json``. Their signatures were made with a dummy service-account key
published in that repository; it is not copied here. With ``HUB_GCS_V4_TEST_KEY`` naming a PEM
file holding it, the signatures are compared too (they matched when this was written); without
it, each signature is verified with the throwaway test key over a string to sign built here,
step by step, from Google's "V4 signing process" page.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hub_gcs.credentials import ServiceAccount
from hub_gcs.signing import signed_url

from tests.plugins.gcs.conftest import service_account_info

VECTOR_EMAIL = "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com"
_CREDENTIAL = (
    "test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com"
    "%2F{day}%2Fauto%2Fstorage%2Fgoog4_request"
)


def _vector(bucket: str, name: str, day: str, clock: str, expires: int) -> str:
    return (
        f"https://storage.googleapis.com/{bucket}/{name}?X-Goog-Algorithm=GOOG4-RSA-SHA256"
        f"&X-Goog-Credential={_CREDENTIAL.format(day=day)}&X-Goog-Date={day}T{clock}Z"
        f"&X-Goog-Expires={expires}&X-Goog-SignedHeaders=host"
    )


#: (description, bucket, object, method, expiration, timestamp, expected URL less signature,
#: the vector's signature).
VECTORS = [
    (
        "Simple GET",
        "test-bucket",
        "test-object",
        "GET",
        10,
        "2019-02-01T09:00:00Z",
        _vector("test-bucket", "test-object", "20190201", "090000", 10),
        "95e6a13d43a1d1962e667f17397f2b80ac9bdd1669210d5e08e0135df9dff4e5",
    ),
    (
        "Simple PUT",
        "test-bucket",
        "test-object",
        "PUT",
        10,
        "2019-02-01T09:00:00Z",
        _vector("test-bucket", "test-object", "20190201", "090000", 10),
        "8adff1d4285739e31aa68e73767a46bc5511fde377497dbe08481bf5ceb34e29",
    ),
    (
        "Vary expiration and timestamp",
        "test-bucket",
        "test-object",
        "GET",
        20,
        "2019-03-01T09:00:00Z",
        _vector("test-bucket", "test-object", "20190301", "090000", 20),
        "9669ed5b10664dc594c758296580662912cf4bcc5a4ba0b6bf055bcbf6f34eed",
    ),
    (
        "Vary bucket and object",
        "test-bucket2",
        "test-object2",
        "GET",
        10,
        "2019-02-01T09:00:00Z",
        _vector("test-bucket2", "test-object2", "20190201", "090000", 10),
        "36e3d58dfd3ec1d2dd2f24b5ee372a71e811ffaa2162a2b871d26728d0354270",
    ),
]


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _account(key: rsa.RSAPrivateKey) -> ServiceAccount:
    return ServiceAccount.from_info({**service_account_info(key), "client_email": VECTOR_EMAIL})


@pytest.mark.parametrize(
    ("bucket", "name", "method", "expires", "stamp", "expected"),
    [v[1:7] for v in VECTORS],
    ids=[v[0] for v in VECTORS],
)
def test_url_matches_googles_vector_and_the_signature_verifies(
    test_key: rsa.RSAPrivateKey,
    bucket: str,
    name: str,
    method: str,
    expires: int,
    stamp: str,
    expected: str,
) -> None:
    url = signed_url(
        _account(test_key),
        bucket=bucket,
        name=name,
        method=method,
        expires_in=expires,
        now=_when(stamp),
    )
    unsigned, _, signature = url.partition("&X-Goog-Signature=")
    assert unsigned == expected
    # The documented steps, spelled out: canonical request, its hash, the string to sign.
    query = expected.split("?", 1)[1]
    canonical = (
        f"{method}\n/{bucket}/{name}\n{query}\nhost:storage.googleapis.com\n\nhost\n"
        "UNSIGNED-PAYLOAD"
    )
    day = stamp[:10].replace("-", "")
    to_sign = (
        f"GOOG4-RSA-SHA256\n{day}T{stamp[11:19].replace(':', '')}Z\n"
        f"{day}/auto/storage/goog4_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    )
    test_key.public_key().verify(
        bytes.fromhex(signature), to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


@pytest.mark.skipif(
    not os.environ.get("HUB_GCS_V4_TEST_KEY"),
    reason="set HUB_GCS_V4_TEST_KEY to a PEM file with the conformance-tests dummy key",
)
@pytest.mark.parametrize(
    ("bucket", "name", "method", "expires", "stamp", "signature"),
    [(*v[1:6], v[7]) for v in VECTORS],
    ids=[v[0] for v in VECTORS],
)
def test_signatures_equal_googles_vectors(
    bucket: str, name: str, method: str, expires: int, stamp: str, signature: str
) -> None:
    pem = Path(os.environ["HUB_GCS_V4_TEST_KEY"]).read_text()
    account = ServiceAccount.from_info({"client_email": VECTOR_EMAIL, "private_key": pem})
    url = signed_url(
        account, bucket=bucket, name=name, method=method, expires_in=expires, now=_when(stamp)
    )
    assert url.partition("&X-Goog-Signature=")[2].startswith(signature)


def test_object_names_keep_slashes_and_encode_the_rest(test_key: rsa.RSAPrivateKey) -> None:
    """As the vector 'Slashes in object name should not be URL encoded' requires."""
    url = signed_url(
        _account(test_key),
        bucket="test-bucket",
        name="path/with/slashes/under_score/amper&sand/file.ext",
        method="GET",
        expires_in=10,
        now=_when("2019-02-01T09:00:00Z"),
    )
    assert url.startswith(
        "https://storage.googleapis.com/test-bucket/path/with/slashes/under_score/"
        "amper%26sand/file.ext?"
    )


def test_url_names_the_configured_host(test_key: rsa.RSAPrivateKey) -> None:
    url = signed_url(
        _account(test_key),
        bucket="b-1",
        name="grüße.txt",
        method="GET",
        expires_in=60,
        host="127.0.0.1:4443",
        scheme="http",
        now=datetime(2024, 5, 1, tzinfo=UTC),
    )
    assert url.startswith("http://127.0.0.1:4443/b-1/gr%C3%BC%C3%9Fe.txt?X-Goog-Algorithm=")
