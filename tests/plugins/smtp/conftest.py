"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the SMTP plugin's tests.

``smtp_server(**options)`` starts one on a free port and stops it after the test. Its handler
stores every accepted envelope, remembers which client connections sent mail, and can be told
to refuse recipients or to answer MAIL/DATA with a scripted reply. ``tls_files`` is a
self-signed certificate for 127.0.0.1 made at test time (it is also its own CA).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME = "hub-user"
PASSWORD = "correct horse battery staple"


@dataclass
class Received:
    """One message the server accepted: the envelope and the bytes of the DATA."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any
    mail_options: list[str]

    def parsed(self) -> MimeMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, MimeMessage)
        return message


@dataclass
class RecordingHandler:
    """Stores envelopes; ``refuse``/``mail_reply``/``data_reply`` script failures."""

    received: list[Received] = field(default_factory=list)
    #: address -> reply for RCPT TO of that address, e.g. "550 5.1.1 User unknown".
    refuse: dict[str, str] = field(default_factory=dict)
    #: A reply for every MAIL FROM while set, e.g. "451 4.7.1 Rate limit exceeded".
    mail_reply: str | None = None
    #: Replies for the next MAIL FROMs, one each, before ``mail_reply`` applies.
    mail_replies: list[str] = field(default_factory=list)
    #: A reply for every end of DATA while set, e.g. "554 5.6.0 Content rejected".
    data_reply: str | None = None
    #: Seconds to wait before answering the end of DATA (a slow server).
    data_delay: float = 0.0
    #: Client (host, port) of every connection that got as far as MAIL FROM.
    peers: set[Any] = field(default_factory=set)

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        self.peers.add(session.peer)
        if self.mail_replies:
            return self.mail_replies.pop(0)
        if self.mail_reply is not None:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply is not None:
            return self.data_reply
        content = envelope.original_content or b""
        assert isinstance(content, bytes)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                content=content,
                peer=session.peer,
                mail_options=list(envelope.mail_options),
            )
        )
        return "250 2.0.0 Ok: queued as HUB1"


@dataclass
class Server:
    handler: RecordingHandler
    port: int
    options: dict[str, Any]
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def restart(self) -> None:
        """A new server on the same port: the old sessions are gone."""
        self.stop()
        self.start()

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The provider section that reaches this server (plain SMTP unless overridden)."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "local_hostname": "client.hub.test",
            "timeout": 5,
            **overrides,
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    """``smtp_server(tls=ctx | None, starttls=ctx | None, auth=False, ...)`` → a running Server."""
    started: list[Server] = []

    def start(
        *,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        auth: bool = False,
        **smtp_options: Any,
    ) -> Server:
        handler = RecordingHandler()
        port = free_port()
        options: dict[str, Any] = {"server_hostname": "smtp.hub.test", **smtp_options}
        if starttls is not None:
            options.update(tls_context=starttls, require_starttls=True)
        if auth:
            options.update(authenticator=_authenticator, auth_require_tls=starttls is not None)
        server = Server(handler=handler, port=port, options={"ssl_context": tls, **options})
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 / localhost, usable as its own CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub test SMTP server")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsFiles(cert=cert_path, key=key_path)
