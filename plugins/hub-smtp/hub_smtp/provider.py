"""The SMTP email provider: one reused aiosmtplib connection, one transaction per message.

Sends share one connection, opened on first use and held under a lock (an SMTP session carries
one transaction at a time). A connection the server dropped while idle is noticed at ``MAIL``,
before anything was accepted, and the message goes out once more on a fresh connection.
``aclose()`` says QUIT. The MIME comes from :func:`hub.capabilities._mime.to_mime`, the same
rendering the local provider writes to disk.

aiosmtplib runs on asyncio only, so this provider does too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage
from typing import TYPE_CHECKING, Any

import aiosmtplib
import anyio
from aiosmtplib.email import flatten_message

from hub.capabilities._mime import mailbox, to_mime
from hub.capabilities.email import EmailMessage, EmailReceipt, RecipientResult, RecipientStatus
from hub.errors import HubError
from hub_smtp.errors import Stage, map_exception, reply_error

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub_smtp.settings import SmtpSettings

__all__ = ["SmtpProvider"]


@dataclass(slots=True)
class _Sent:
    """What the server said about one transaction."""

    reply: str
    refused: dict[str, aiosmtplib.SMTPRecipientRefused] = field(default_factory=dict)
    reused: bool = False


class _StaleConnection(Exception):
    """The reused connection was gone before MAIL was accepted: nothing was sent."""

    def __init__(self, error: HubError) -> None:
        super().__init__(str(error))
        self.error = error


class SmtpProvider:
    """Sends each message as one SMTP transaction on a shared, locked connection."""

    def __init__(self, settings: SmtpSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._lock: anyio.Lock | None = None
        #: Connections opened so far (each one a TCP connect, TLS handshake and AUTH).
        self.connections_opened = 0

    def __repr__(self) -> str:
        s = self.settings
        return f"<SmtpProvider {self.name} {s.host}:{s.effective_port} security={s.security}>"

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
        assert message.from_ is not None, "the service fills the default sender before this"
        mime = to_mime(message)
        recipients = list(dict.fromkeys(a.email for a in message.recipients))
        envelope = {mailbox(email): email for email in recipients}
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            sent = await self._deliver(mime, mailbox(message.from_.email), list(envelope))
        refused = {envelope[r]: e for r, e in sent.refused.items()}
        message_id = str(mime["Message-ID"]).strip().removeprefix("<").removesuffix(">")
        return EmailReceipt(
            provider=self.name,
            provider_id=message_id,
            idempotency_key=idempotency_key,
            recipients=[_status(email, refused.get(email)) for email in recipients],
            raw={
                "message_id": message_id,
                "reply": sent.reply,
                "refused": {r: f"{e.code} {e.message}" for r, e in refused.items()},
                "server": f"{self.settings.host}:{self.settings.effective_port}",
                "connection_reused": sent.reused,
            },
        )

    async def aclose(self) -> None:
        """Say QUIT on the open connection, if any."""
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if client.is_connected:
                with anyio.move_on_after(self.settings.timeout):
                    await client.quit()
        client.close()

    # -- the connection ---------------------------------------------------------------

    async def _deliver(self, mime: MimeMessage, sender: str, recipients: list[str]) -> _Sent:
        for attempt in (1, 2):
            reused = self._client is not None and self._client.is_connected
            client = self._client if reused and self._client is not None else await self._open()
            try:
                sent = await self._transaction(client, mime, sender, recipients)
            except _StaleConnection as stale:
                self._drop()
                if not reused or attempt == 2:
                    raise stale.error from None
                continue
            sent.reused = reused
            return sent
        raise AssertionError("unreachable")  # pragma: no cover

    async def _open(self) -> aiosmtplib.SMTP:
        self._drop()
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.effective_port,
            username=s.username,
            password=s.password.get_secret_value() if s.password is not None else None,
            local_hostname=s.local_hostname,
            timeout=s.timeout,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            validate_certs=s.validate_certs,
            cert_bundle=str(s.ca_file) if s.ca_file is not None else None,
        )
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:  # learn the extensions (SIZE, 8BITMIME...) now
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
        except Exception as exc:
            client.close()
            raise map_exception(self.name, exc, stage="connect") from None
        except BaseException:  # cancelled while connecting
            client.close()
            raise
        self.connections_opened += 1
        self._client = client
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- one transaction --------------------------------------------------------------

    async def _transaction(
        self, client: aiosmtplib.SMTP, mime: MimeMessage, sender: str, recipients: list[str]
    ) -> _Sent:
        try:
            options, encoding, content = _envelope_options(client, mime, sender, recipients)
        except aiosmtplib.SMTPNotSupported as exc:
            raise map_exception(self.name, exc, stage="mail") from None
        stage: Stage = "mail"
        try:
            await client.mail(sender, options=options, encoding=encoding)
            stage = "rcpt"
            refused: dict[str, aiosmtplib.SMTPRecipientRefused] = {}
            for recipient in recipients:
                try:
                    await client.rcpt(recipient, encoding=encoding)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused[recipient] = exc
            if len(refused) == len(recipients):
                await self._reset(client)
                raise _all_refused(self.name, refused)
            stage = "data"
            reply = await client.data(content)
        except HubError:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            error = map_exception(self.name, exc, stage=stage)
            if exc.code == 421:  # the server is closing the connection
                self._drop()
                if stage == "mail":
                    raise _StaleConnection(error) from None
            else:
                await self._reset(client)
            raise error from None
        except Exception as exc:
            self._drop()
            error = map_exception(self.name, exc, stage=stage)
            if stage == "mail" and isinstance(exc, ConnectionError):
                raise _StaleConnection(error) from None
            raise error from None
        except BaseException:  # cancelled mid-transaction: the session state is unknown
            self._drop()
            raise
        return _Sent(reply=f"{reply.code} {reply.message}", refused=refused)

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        """RSET after a refused transaction, so the connection can carry the next one."""
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._drop()


def _envelope_options(
    client: aiosmtplib.SMTP, mime: MimeMessage, sender: str, recipients: list[str]
) -> tuple[list[str], str, bytes]:
    """MAIL options, address encoding and the flattened message, as the server allows."""
    utf8 = not (sender + "".join(recipients)).isascii()
    if utf8 and not client.supports_extension("smtputf8"):
        raise aiosmtplib.SMTPNotSupported(
            "an address is internationalized but the server does not offer SMTPUTF8"
        )
    options = ["SMTPUTF8"] if utf8 else []
    cte_type = "7bit"
    if client.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
        cte_type = "8bit"
    content = flatten_message(mime, utf8=utf8, cte_type=cte_type)
    if client.supports_extension("size"):
        options.insert(0, f"SIZE={len(content)}")
    return options, "utf-8" if utf8 else "ascii", content


def _all_refused(provider: str, refused: dict[str, aiosmtplib.SMTPRecipientRefused]) -> HubError:
    """Every recipient was refused: a temporary refusal wins (retrying may help)."""
    first = next((e for e in refused.values() if 400 <= e.code < 500), None)
    first = first or next(iter(refused.values()))
    error = reply_error(provider, first.code, first.message, stage="rcpt")
    raw: Any = getattr(error, "raw", None)
    if isinstance(raw, dict):
        raw["refused"] = {r: f"{e.code} {e.message}" for r, e in refused.items()}
    return error


def _status(email: str, refusal: aiosmtplib.SMTPRecipientRefused | None) -> RecipientResult:
    """``sent`` when the server took the recipient; ``rejected`` (5xx) or ``failed`` (4xx)."""
    if refusal is None:
        return RecipientResult(email=email, status="sent")
    status: RecipientStatus = "failed" if 400 <= refusal.code < 500 else "rejected"
    return RecipientResult(email=email, status=status, reason=f"{refusal.code} {refusal.message}")
