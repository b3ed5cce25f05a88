"""Signing certificates that a webhook names by URL in the request itself (Amazon SNS, PayPal).

The URL comes from the network, so this is where trust is decided: only ``https``, only a host
the vendor's allow-list matches (a regex matched against the whole host name), no user info, no
port but 443, no ``.``/``..`` path segments, optionally under one path. Nothing else is ever
fetched, so a forger cannot point the hub at a certificate of their own.

Each certificate is fetched once per URL and kept in memory (bounded; the least recently used
goes first). Its validity dates are checked on every use, and a cached one that has expired is
fetched again, in case the vendor replaced it at the same URL.

Fetching is I/O, which a handler's synchronous ``verify`` must not do. The handler's
``async prepare(request)`` (awaited by the receiver before ``verify``) calls
:meth:`CertificateStore.load`; ``verify`` then reads the cached certificate with
:meth:`CertificateStore.get` / :meth:`CertificateStore.rsa_key`. The fetch is injectable: tests
pass their own, and :class:`HttpFetch`, the default, goes through a hub HTTP client. A fetch
that fails raises :class:`~hub.errors.Unavailable` (the receiver answers 500, so the vendor
delivers again), never WebhookError: the request may well be genuine.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.errors import ConfigurationError, Unavailable, WebhookError

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = [
    "MAX_CERTIFICATE_BYTES",
    "CertificateStore",
    "Fetch",
    "HttpFetch",
    "check_certificate_url",
]

#: ``await fetch(url) -> body``: GET one URL that passed the allow-list.
Fetch = Callable[[str], Awaitable[bytes]]

#: A PEM certificate (chain) is a few KiB; anything far larger is not one.
MAX_CERTIFICATE_BYTES = 64 * 1024
_FORBIDDEN_CHARACTERS = frozenset("\\ \t\r\n")


def check_certificate_url(
    url: object, *, hosts: re.Pattern[str], what: str, path_prefix: str = "/"
) -> str:
    """``url`` if it is an https URL on an allowed host (under ``path_prefix``), else WebhookError.

    ``hosts`` must match the whole (lower-cased) host name. ``what`` names the URL's origin in
    the message (``"SigningCertURL"``, ``"PAYPAL-CERT-URL"``); the URL itself is never quoted.
    """
    refused = WebhookError(f"{what} is not an https URL on one of the vendor's hosts")
    if not isinstance(url, str) or not url.isascii() or _FORBIDDEN_CHARACTERS & set(url):
        raise refused
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refused from None
    host = parts.hostname or ""
    path = unquote(parts.path)
    if (
        parts.scheme != "https"
        or parts.username is not None
        or parts.password is not None
        or port not in (None, 443)
        or not hosts.fullmatch(host)
        or not path.startswith(path_prefix)
        or any(segment in (".", "..") for segment in path.split("/"))
    ):
        raise refused
    return url


class CertificateStore:
    """One vendor's signing certificates by URL: checked, fetched once, kept in memory."""

    def __init__(
        self,
        *,
        hosts: str | re.Pattern[str],
        fetch: Fetch,
        vendor: str,
        what: str = "certificate URL",
        path_prefix: str = "/",
        max_entries: int = 32,
    ) -> None:
        """``hosts``: the allow-list, a regex matched against the whole host name."""
        if max_entries < 1:
            raise ConfigurationError("a certificate store needs room for at least one entry")
        self.hosts = re.compile(hosts) if isinstance(hosts, str) else hosts
        #: How certificates are fetched; replace it to load them some other way (tests do).
        self.fetch = fetch
        self.vendor = vendor
        self.what = what
        self.path_prefix = path_prefix
        self.max_entries = max_entries
        self._certificates: OrderedDict[str, x509.Certificate] = OrderedDict()

    def check_url(self, url: object) -> str:
        """``url`` if this store may fetch it; WebhookError otherwise."""
        return check_certificate_url(
            url, hosts=self.hosts, what=self.what, path_prefix=self.path_prefix
        )

    async def load(self, url: object, *, now: datetime | None = None) -> x509.Certificate:
        """The certificate at ``url``, fetched unless a valid one is cached (call from prepare)."""
        checked = self.check_url(url)
        cached = self._certificates.get(checked)
        if cached is not None and _valid(cached, now):
            self._certificates.move_to_end(checked)
            return cached
        pem = await self.fetch(checked)
        if not isinstance(pem, bytes) or len(pem) > MAX_CERTIFICATE_BYTES:
            raise WebhookError(f"{self.what} does not serve a PEM certificate")
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise WebhookError(f"{self.what} does not serve a PEM certificate") from None
        self._certificates[checked] = certificate
        self._certificates.move_to_end(checked)
        while len(self._certificates) > self.max_entries:
            self._certificates.popitem(last=False)
        self._check_validity(certificate, now)
        return certificate

    def get(self, url: object, *, now: datetime | None = None) -> x509.Certificate:
        """The cached certificate at ``url``, valid ``now``; no I/O (call from verify)."""
        checked = self.check_url(url)
        certificate = self._certificates.get(checked)
        if certificate is None:
            raise WebhookError(
                f"the {self.vendor} signing certificate named by {self.what} has not been "
                "fetched: the handler's async prepare(request) must load it before verify()"
            )
        self._certificates.move_to_end(checked)
        self._check_validity(certificate, now)
        return certificate

    def rsa_key(self, url: object, *, now: datetime | None = None) -> rsa.RSAPublicKey:
        """The RSA public key of the cached certificate at ``url`` (see :meth:`get`)."""
        key = self.get(url, now=now).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookError(f"the {self.vendor} signing certificate does not hold an RSA key")
        return key

    def __contains__(self, url: object) -> bool:
        return url in self._certificates

    def __len__(self) -> int:
        return len(self._certificates)

    def clear(self) -> None:
        """Forget every certificate (the next request fetches again)."""
        self._certificates.clear()

    def _check_validity(self, certificate: x509.Certificate, now: datetime | None) -> None:
        if not _valid(certificate, now):
            raise WebhookError(
                f"the {self.vendor} signing certificate is expired or not yet valid (outside "
                "its validity period)"
            )

    def __repr__(self) -> str:
        return (
            f"<CertificateStore {self.vendor} hosts={self.hosts.pattern!r} "
            f"cached={len(self._certificates)}>"
        )


def _valid(certificate: x509.Certificate, now: datetime | None) -> bool:
    moment = now if now is not None else datetime.now(UTC)
    return certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc


class HttpFetch:
    """The default fetch: a GET through the hub HTTP client of the handler's provider.

    The client is opened on first use (and closed with the hub); redirects are not followed, and
    no more than ``max_bytes`` is read. Any failure is :class:`~hub.errors.Unavailable`.
    """

    def __init__(
        self,
        context: ProviderContext,
        *,
        base_url: str,
        max_bytes: int = MAX_CERTIFICATE_BYTES,
        timeout: float = 10.0,
    ) -> None:
        self._context = context
        self._base_url = base_url
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, url: str) -> bytes:
        if self._client is None:
            self._client = self._context.http_client(base_url=self._base_url, timeout=self._timeout)
        name = self._context.name
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise Unavailable(
                        f"{name}: fetching a signing certificate answered HTTP "
                        f"{response.status_code}; the vendor will deliver the webhook again",
                        provider=name,
                        status=response.status_code,
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise WebhookError(f"{name}: the signing certificate is too large")
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"{name}: could not fetch a signing certificate ({type(exc).__name__}); the "
                "vendor will deliver the webhook again",
                provider=name,
            ) from None
        return bytes(body)

    def __repr__(self) -> str:
        return f"<HttpFetch {self._context.name} via {self._base_url}>"
