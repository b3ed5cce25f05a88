"""V4 signed URLs (``GOOG4-RSA-SHA256``), as Google's "V4 signing process" documents them.

1. The canonical request: the verb, the percent-encoded path (``/bucket/object``, slashes kept),
   the canonical query string (``X-Goog-*`` parameters, names and values percent-encoded and
   sorted by name), the canonical headers (``host:<host>``, each line ended by a newline), the
   signed header names (``host``) and ``UNSIGNED-PAYLOAD``, joined by newlines.
2. The string to sign: ``GOOG4-RSA-SHA256``, the request time (``YYYYMMDD'T'HHMMSS'Z'``), the
   credential scope (``<date>/auto/storage/goog4_request``) and the hex SHA-256 of the
   canonical request, joined by newlines.
3. The signature: the hex RSA-SHA256 (PKCS #1 v1.5) signature of the string to sign, appended
   as ``X-Goog-Signature``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from hub_gcs.credentials import ServiceAccount

__all__ = ["ALGORITHM", "canonical_request", "signed_url", "string_to_sign"]

ALGORITHM = "GOOG4-RSA-SHA256"
_REGION = "auto"


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    pairs = sorted((_encode(k), _encode(v)) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    lowered = sorted((k.lower(), " ".join(v.split())) for k, v in headers.items())
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in lowered)
    signed = ";".join(k for k, _ in lowered)
    return "\n".join(
        [method, path, canonical_query(query), canonical_headers, signed, "UNSIGNED-PAYLOAD"]
    )


def string_to_sign(request: str, when: datetime, scope: str) -> str:
    digest = hashlib.sha256(request.encode()).hexdigest()
    return "\n".join([ALGORITHM, when.strftime("%Y%m%dT%H%M%SZ"), scope, digest])


def signed_url(
    account: ServiceAccount,
    *,
    bucket: str,
    name: str,
    method: str,
    expires_in: int,
    host: str = "storage.googleapis.com",
    scheme: str = "https",
    now: datetime | None = None,
) -> str:
    """A URL granting ``method`` on one object for ``expires_in`` seconds (at most 7 days)."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    scope = f"{when:%Y%m%d}/{_REGION}/storage/goog4_request"
    path = f"/{bucket}/{quote(name, safe='/~')}"
    query = {
        "X-Goog-Algorithm": ALGORITHM,
        "X-Goog-Credential": f"{account.client_email}/{scope}",
        "X-Goog-Date": f"{when:%Y%m%dT%H%M%SZ}",
        "X-Goog-Expires": str(expires_in),
        "X-Goog-SignedHeaders": "host",
    }
    request = canonical_request(method, path, query, {"host": host})
    signature = account.sign(string_to_sign(request, when, scope).encode()).hex()
    return f"{scheme}://{host}{path}?{canonical_query(query)}&X-Goog-Signature={signature}"
