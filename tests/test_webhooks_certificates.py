"""hub.webhooks.certificates: which URLs are ever fetched, the cache, validity dates, the fetch."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from hub import Hub
from hub._runtime import ProviderContext
from hub.errors import ConfigurationError, Unavailable, WebhookError
from hub.http import override_transport
from hub.webhooks.certificates import (
    MAX_CERTIFICATE_BYTES,
    CertificateStore,
    HttpFetch,
    check_certificate_url,
)

HOSTS = re.compile(r"certs\.vendor\.example")
URL = "https://certs.vendor.example/keys/cert-1.pem"
OTHER_URL = "https://certs.vendor.example/keys/cert-2.pem"
NOW = datetime.now(UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    start: timedelta = timedelta(days=-1),
    days: int = 30,
) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certs.vendor.example")])
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + start)
        .not_valid_after(NOW + start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return built.public_bytes(serialization.Encoding.PEM)


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = certificate(KEY)


class Served:
    """An injected fetch: serves fixed bodies and records each URL asked for."""

    def __init__(self, bodies: dict[str, bytes] | None = None) -> None:
        self.bodies = bodies if bodies is not None else {URL: PEM, OTHER_URL: PEM}
        self.calls: list[str] = []

    async def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        return self.bodies[url]


def store(fetch: Served, **options: object) -> CertificateStore:
    return CertificateStore(hosts=HOSTS, fetch=fetch, vendor="Acme", what="X-Cert-Url", **options)  # type: ignore[arg-type]


# -- which URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://certs.vendor.example/keys/cert.pem",  # not HTTPS
        "https://certs.vendor.example.evil.example/keys/cert.pem",  # suffix
        "https://evil.example/certs.vendor.example/cert.pem",  # in the path only
        "https://xcerts.vendor.example/keys/cert.pem",  # the regex must match the whole host
        "https://certs.vendor.example@evil.example/keys/cert.pem",  # user info
        "https://user:pw@certs.vendor.example/keys/cert.pem",
        "https://certs.vendor.example:8443/keys/cert.pem",  # another port
        "https://certs.vendor.example/keys/../../admin/cert.pem",  # dot segments
        "https://certs.vendor.example/keys/%2e%2e/admin/cert.pem",
        "https://certs.vendor.example/keys/cert.pem\\@evil.example",
        "https://certs.vendor.example/keys/cert pem",
        "https://certs.vendor.exämple/keys/cert.pem",
        "https://[::1/keys/cert.pem",  # unparseable
        "",
        None,
        42,
    ],
)
@pytest.mark.anyio
async def test_urls_off_the_allow_list_are_refused_and_never_fetched(url: object) -> None:
    fetch = Served()
    with pytest.raises(WebhookError, match="X-Cert-Url is not an https URL"):
        await store(fetch).load(url)
    assert fetch.calls == []


def test_allowed_urls_pass_unchanged() -> None:
    for url in (URL, "https://CERTS.vendor.example:443/keys/cert.pem?v=2"):
        assert check_certificate_url(url, hosts=HOSTS, what="X") == url


def test_a_path_prefix_narrows_the_allow_list() -> None:
    url = "https://certs.vendor.example/v1/certs/CERT-1"
    assert check_certificate_url(url, hosts=HOSTS, what="X", path_prefix="/v1/certs/") == url
    with pytest.raises(WebhookError):
        check_certificate_url(URL, hosts=HOSTS, what="X", path_prefix="/v1/certs/")


def test_the_refusal_never_quotes_the_url() -> None:
    with pytest.raises(WebhookError) as caught:
        check_certificate_url("https://evil.example/secret-token", hosts=HOSTS, what="X")
    assert "evil" not in str(caught.value)


# -- the cache ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_each_url_is_fetched_once() -> None:
    fetch = Served()
    certificates = store(fetch)
    first = await certificates.load(URL)
    assert await certificates.load(URL) is first
    await certificates.load(OTHER_URL)
    assert fetch.calls == [URL, OTHER_URL]
    assert certificates.get(URL) is first
    assert certificates.rsa_key(URL).public_numbers() == KEY.public_key().public_numbers()


@pytest.mark.anyio
async def test_get_before_load_asks_for_prepare_and_does_no_io() -> None:
    fetch = Served()
    with pytest.raises(WebhookError, match=r"prepare\(request\)"):
        store(fetch).get(URL)
    assert fetch.calls == []


@pytest.mark.anyio
async def test_the_cache_is_bounded_least_recently_used_first() -> None:
    urls = [f"https://certs.vendor.example/keys/{n}.pem" for n in range(3)]
    fetch = Served(dict.fromkeys(urls, PEM))
    certificates = store(fetch, max_entries=2)
    await certificates.load(urls[0])
    await certificates.load(urls[1])
    certificates.get(urls[0])  # used: urls[1] is now the oldest
    await certificates.load(urls[2])
    assert (urls[0] in certificates, urls[1] in certificates, len(certificates)) == (
        True,
        False,
        2,
    )
    await certificates.load(urls[1])
    assert fetch.calls == [urls[0], urls[1], urls[2], urls[1]]


def test_a_store_needs_room() -> None:
    with pytest.raises(ConfigurationError):
        store(Served(), max_entries=0)


# -- validity dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pem",
    [
        certificate(KEY, start=timedelta(days=-3), days=1),  # expired
        certificate(KEY, start=timedelta(days=2), days=30),  # not yet valid
    ],
    ids=["expired", "not-yet-valid"],
)
@pytest.mark.anyio
async def test_a_certificate_outside_its_validity_dates_is_refused(pem: bytes) -> None:
    with pytest.raises(WebhookError, match="validity period"):
        await store(Served({URL: pem})).load(URL)


@pytest.mark.anyio
async def test_validity_is_checked_on_every_use_and_an_expired_one_is_fetched_again() -> None:
    fetch = Served()
    certificates = store(fetch)
    await certificates.load(URL)
    later = NOW + timedelta(days=60)  # past not_valid_after
    with pytest.raises(WebhookError, match="expired"):
        certificates.get(URL, now=later)
    fetch.bodies[URL] = certificate(KEY, start=timedelta(days=59), days=30)  # the vendor renewed
    renewed = await certificates.load(URL, now=later)
    assert certificates.get(URL, now=later) is renewed
    assert fetch.calls == [URL, URL]


@pytest.mark.parametrize(
    "body", [b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"]
)
@pytest.mark.anyio
async def test_something_that_is_not_a_pem_certificate_is_refused(body: bytes) -> None:
    with pytest.raises(WebhookError, match="does not serve a PEM certificate"):
        await store(Served({URL: body})).load(URL)


@pytest.mark.anyio
async def test_an_oversized_body_is_refused() -> None:
    with pytest.raises(WebhookError, match="PEM"):
        await store(Served({URL: PEM + b"\n" * MAX_CERTIFICATE_BYTES})).load(URL)


@pytest.mark.anyio
async def test_a_certificate_without_an_rsa_key_gives_no_rsa_key() -> None:
    ec_pem = certificate(ec.generate_private_key(ec.SECP256R1()))
    certificates = store(Served({URL: ec_pem}))
    await certificates.load(URL)
    with pytest.raises(WebhookError, match="RSA"):
        certificates.rsa_key(URL)


# -- the default fetch: a hub HTTP client -----------------------------------------------------


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    async with Hub.from_settings(env="test", state={"url": "memory://"}) as built:
        yield built


def fetcher(hub: Hub) -> HttpFetch:
    context = ProviderContext(capability="email", name="acme", runtime=hub._runtime)
    return HttpFetch(context, base_url="https://certs.vendor.example")


@pytest.mark.anyio
async def test_http_fetch_gets_through_the_hubs_client(hub: Hub) -> None:
    asked: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append((request.method, str(request.url)))
        return httpx.Response(200, content=PEM)

    certificates = CertificateStore(hosts=HOSTS, fetch=fetcher(hub), vendor="Acme")
    with override_transport(httpx.MockTransport(answer)):
        await certificates.load(URL)
        await certificates.load(URL)
    assert asked == [("GET", URL)]


@pytest.mark.parametrize(
    "answer",
    [
        lambda request: httpx.Response(503),
        lambda request: httpx.Response(404),
        lambda request: httpx.Response(302, headers={"Location": "https://evil.example/c.pem"}),
        lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused", request=request)),
    ],
    ids=["503", "404", "redirect-not-followed", "connect-error"],
)
@pytest.mark.anyio
async def test_http_fetch_failures_are_unavailable_so_the_vendor_retries(
    hub: Hub, answer: object
) -> None:
    with (
        override_transport(httpx.MockTransport(answer)),  # type: ignore[arg-type]
        pytest.raises(Unavailable) as caught,
    ):
        await fetcher(hub)(URL)
    assert caught.value.provider == "acme"


@pytest.mark.anyio
async def test_http_fetch_stops_reading_past_the_limit(hub: Hub) -> None:
    huge = httpx.Response(200, content=b"x" * (MAX_CERTIFICATE_BYTES + 1))
    with (
        override_transport(httpx.MockTransport(lambda request: huge)),
        pytest.raises(WebhookError, match="too large"),
    ):
        await fetcher(hub)(URL)
