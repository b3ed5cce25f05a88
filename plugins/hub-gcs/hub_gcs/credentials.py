"""Service-account credentials: the signed JWT, the access token it buys, and RSA signing.

Google's OAuth 2.0 for server-to-server applications: a JWT (RS256, signed with the service
account's private key) whose claims name the account (``iss``), the scope, the token endpoint
(``aud``) and an hour's lifetime is POSTed to the token endpoint as
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>``; the answer's
``access_token`` is then sent as ``Authorization: Bearer ...`` until ``expires_in`` runs out.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["JWT_GRANT", "SCOPE", "AccessToken", "ServiceAccount", "TokenCache"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Read and write objects; nothing else (no bucket administration).
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
_LIFETIME = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a service-account key file the provider uses."""

    client_email: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    private_key_id: str = ""
    token_uri: str = DEFAULT_TOKEN_URI

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> ServiceAccount:
        """From the key file's JSON; ValueError saying what is missing or wrong."""
        if info.get("type") not in (None, "service_account"):
            raise ValueError(
                f"credentials are of type {info.get('type')!r}; a service account key "
                "(type 'service_account') is needed"
            )
        missing = [k for k in ("client_email", "private_key") if not info.get(k)]
        if missing:
            raise ValueError(f"the service account key lacks {', '.join(missing)}")
        try:
            key = serialization.load_pem_private_key(str(info["private_key"]).encode(), None)
        except (ValueError, TypeError):
            raise ValueError("the service account's private_key is not a PEM RSA key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the service account's private_key is not an RSA key")
        return cls(
            client_email=str(info["client_email"]),
            private_key=key,
            private_key_id=str(info.get("private_key_id") or ""),
            token_uri=str(info.get("token_uri") or DEFAULT_TOKEN_URI),
        )

    def sign(self, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256: JWTs (RS256) and V4 signed URLs."""
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def assertion(self, now: float | None = None, *, scope: str = SCOPE) -> str:
        """The signed JWT exchanged for an access token."""
        issued = int(time.time() if now is None else now)
        header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
        if self.private_key_id:
            header["kid"] = self.private_key_id
        claims = {
            "iss": self.client_email,
            "scope": scope,
            "aud": self.token_uri,
            "iat": issued,
            "exp": issued + _LIFETIME,
        }
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        return f"{signing_input}.{_b64url(self.sign(signing_input.encode()))}"


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float


class TokenCache:
    """One access token, fetched on first use and again shortly before it expires.

    Concurrent callers share one refresh: the first takes the lock and fetches, the rest wait
    for it and use what it got.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        margin: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = anyio.Lock()

    def _fresh(self) -> AccessToken | None:
        token = self._token
        if token is not None and token.expires_at - self._margin > self._clock():
            return token
        return None

    async def get(self) -> str:
        token = self._fresh()
        if token is None:
            async with self._lock:
                token = self._fresh()
                if token is None:
                    token = self._token = await self._fetch()
        return token.value

    def invalidate(self) -> None:
        """Forget the token (the service refused it): the next call fetches a new one."""
        self._token = None
