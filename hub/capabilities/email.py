"""Email: the message model, the provider protocol and the ``hub.email`` facade."""

from __future__ import annotations

import base64
import functools
import mimetypes
import re
from collections.abc import Sequence
from datetime import datetime
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, runtime_checkable

import anyio
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from hub.capabilities._batch import SendResult, send_many
from hub.capabilities._models import Receipt, parse_input
from hub.capabilities._service import Service, new_idempotency_key
from hub.errors import HubError, InvalidRequest

if TYPE_CHECKING:
    from hub.capabilities._email_bulk import BulkRecipient, BulkResult

__all__ = [
    "FEATURES",
    "Address",
    "Attachment",
    "EmailMessage",
    "EmailProvider",
    "EmailReceipt",
    "EmailService",
    "RecipientResult",
    "RecipientStatus",
    "SendResult",
]

#: Optional features an email provider may declare in its ProviderSpec.
FEATURES = frozenset(
    {
        "attachments",
        "inline_attachments",
        "templates",
        "tags",
        "metadata",
        "custom_headers",
        "batch",
        "scheduled_send",
        "idempotency",
        "bulk",
    }
)

RecipientStatus = Literal["queued", "sent", "rejected", "invalid", "failed", "unknown"]


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z])?"  # TLDs end with a letter
#: The everyday address: an ASCII dot-atom local part and an ASCII host name.
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_TOP_LABEL}")
#: ".test", ".local", ...: names email-validator refuses, as suffixes for one str.endswith.
_SPECIAL_USE_SUFFIXES = tuple(f".{name}" for name in SPECIAL_USE_DOMAIN_NAMES)
#: The commonest case in one regex: a lower-case host (nothing to normalize), a local part of
#: at most 64 characters, no "--" in the host and no special-use name at its end.
_LOWER_ADDRESS = re.compile(
    rf"(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@(?![^@]*--)"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z])?"
    + "".join(f"(?<![.@]{re.escape(name)})" for name in SPECIAL_USE_DOMAIN_NAMES)
)


def _plain_normalized(value: str) -> str | None:
    """email-validator's answer for an everyday ASCII address, without calling it.

    email-validator costs ~45 µs per address it has not seen (a bulk send sees 10,000); for
    ``local@host.tld`` in plain ASCII its verdict is a few checks: these. Anything else
    (quoted or non-ASCII local parts, IDNs, labels with ``--`` as in punycode, special-use
    names like ``.test``) gets None and goes to email-validator. A test compares the two on
    generated addresses.
    """
    if len(value) > 254:
        return None
    if _LOWER_ADDRESS.fullmatch(value) is not None:
        return value
    if _PLAIN_ADDRESS.fullmatch(value) is None:
        return None
    at = value.rindex("@")
    if at > 64 or value.find("--", at) != -1:  # "--" in the host: punycode, IDNA rules
        return None
    domain = value[at + 1 :]
    if not domain.islower():  # every host here has a letter: its last label ends with one
        domain = domain.lower()
        value = value[: at + 1] + domain
    if domain.endswith(_SPECIAL_USE_SUFFIXES) or domain in SPECIAL_USE_DOMAIN_NAMES:
        return None
    return value


@functools.lru_cache(maxsize=4096)
def _normalized_email(value: str) -> str:
    """email-validator's normalized form, cached: the same addresses recur on every send."""
    plain = _plain_normalized(value)
    if plain is not None:
        return plain
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from None


class Address(BaseModel):
    """An address with an optional display name; ``"Ada <ada@example.com>"`` parses too."""

    model_config = ConfigDict(frozen=True)

    email: str
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            if _PLAIN_ADDRESS.fullmatch(value):  # no display name: parseaddr has nothing to do
                return {"email": value, "name": None}
            name, email = parseaddr(value)
            if not email or "@" not in email:
                raise ValueError(f"{value!r} is not an email address like 'ada@example.com'")
            return {"email": email, "name": name or None}
        return value

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return _normalized_email(value)

    @field_validator("name")
    @classmethod
    def _no_newlines(cls, value: str | None) -> str | None:
        if value is not None and ("\r" in value or "\n" in value):
            raise ValueError("a display name may not contain line breaks")
        return value

    def formatted(self) -> str:
        """RFC 5322 form, quoting and encoding the display name; IDN domains as punycode."""
        local, _, domain = self.email.rpartition("@")
        try:
            domain.encode("ascii")
        except UnicodeEncodeError:
            domain = domain.encode("idna").decode("ascii")
        return formataddr((self.name or "", f"{local}@{domain}"), charset="utf-8")

    def __str__(self) -> str:
        return self.formatted()


class Attachment(BaseModel):
    """A file attached to a message; ``inline=True`` with a ``content_id`` for ``cid:`` images."""

    model_config = ConfigDict(frozen=True)

    filename: str = Field(min_length=1)
    content: bytes = Field(repr=False)
    content_type: str = ""
    inline: bool = False
    content_id: str | None = None

    @model_validator(mode="after")
    def _defaults(self) -> Self:
        if not self.content_type:
            guessed = mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
            object.__setattr__(self, "content_type", guessed)
        if self.inline and not self.content_id:
            object.__setattr__(self, "content_id", self.filename)
        return self

    @classmethod
    async def from_path(
        cls, path: str | Path, *, inline: bool = False, **kwargs: Any
    ) -> Attachment:
        """Read a file without blocking the event loop."""
        file = anyio.Path(path)
        return cls(filename=file.name, content=await file.read_bytes(), inline=inline, **kwargs)

    @property
    def content_base64(self) -> str:
        return base64.b64encode(self.content).decode("ascii")

    @model_serializer(mode="wrap")
    def _serialize(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        data["content"] = f"<{len(self.content)} bytes>"
        return data


class EmailMessage(BaseModel):
    """One email. ``from`` is optional when ``email.default_from`` is configured."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    from_: Address | None = Field(None, alias="from")
    to: list[Address] = Field(default_factory=list)
    cc: list[Address] = Field(default_factory=list)
    bcc: list[Address] = Field(default_factory=list)
    reply_to: list[Address] = Field(default_factory=list)
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    template_id: str | None = None
    template_data: dict[str, Any] = Field(default_factory=dict)
    send_at: datetime | None = None
    #: Vendor-specific options, passed through untouched: ``{"sendgrid": {"asm": {...}}}``.
    provider_options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("to", "cc", "bcc", "reply_to", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, str | dict | Address):
            return [value]
        return value

    @field_validator("subject")
    @classmethod
    def _one_line_subject(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("the subject may not contain line breaks")
        return value

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not name or any(c in name for c in ":\r\n ") or "\r" in header or "\n" in header:
                raise ValueError(
                    f"header {name!r} has an invalid name or a line break in its value"
                )
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not (self.to or self.cc or self.bcc):
            raise ValueError("a message needs at least one recipient in to, cc or bcc")
        if self.text is None and self.html is None and self.template_id is None:
            raise ValueError("a message needs text, html or a template_id")
        return self

    @property
    def recipients(self) -> list[Address]:
        return [*self.to, *self.cc, *self.bcc]

    def required_features(self) -> set[str]:
        """The optional provider features this message needs."""
        needed = set()
        if any(not a.inline for a in self.attachments):
            needed.add("attachments")
        if any(a.inline for a in self.attachments):
            needed.add("inline_attachments")
        if self.template_id:
            needed.add("templates")
        if self.tags:
            needed.add("tags")
        if self.metadata:
            needed.add("metadata")
        if self.headers:
            needed.add("custom_headers")
        if self.send_at:
            needed.add("scheduled_send")
        return needed


class RecipientResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str
    status: RecipientStatus
    reason: str | None = None


class EmailReceipt(Receipt):
    """The outcome of one send: a status per recipient, the vendor's message id and raw answer."""

    idempotency_key: str
    recipients: list[RecipientResult] = Field(default_factory=list)
    attempts: int = 1

    @property
    def provider_message_id(self) -> str | None:
        return self.provider_id


@runtime_checkable
class EmailProvider(Protocol):
    """What an email vendor implements. ``send_many`` only with the ``batch`` feature."""

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt: ...

    async def aclose(self) -> None: ...


class BatchEmailProvider(EmailProvider, Protocol):
    async def send_many(
        self, messages: Sequence[EmailMessage], *, idempotency_keys: Sequence[str]
    ) -> list[EmailReceipt | HubError]: ...


class BulkEmailProvider(EmailProvider, Protocol):
    """A provider with the ``bulk`` feature: one message, a copy per recipient."""

    async def send_bulk(
        self,
        message: EmailMessage,
        recipients: Sequence[BulkRecipient],
        *,
        idempotency_key: str,
        concurrency: int,
    ) -> list[EmailReceipt | HubError]:
        """One outcome per recipient, in order: the receipt of the request that carried them
        (shared by that request's recipients) or its error. ``message.to`` is empty. Until a
        request has succeeded, an error that allows a retry or failover is raised instead
        (:func:`hub.capabilities._batch.send_chunks` does both)."""
        ...


class EmailService(Service[EmailProvider]):
    """``hub.email``: validates, fills the default sender, and sends through the pipeline."""

    capability = "email"
    _default_from: Address | None = None

    async def send(
        self,
        message: EmailMessage | dict[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> EmailReceipt:
        """Send one message: ``send(EmailMessage(...))`` or ``send(to=…, subject=…, text=…)``."""
        msg = self._prepare(message, fields)
        key = idempotency_key or new_idempotency_key()
        return await self._call(
            "send",
            lambda provider: provider.send(msg, idempotency_key=key),
            idempotency_key=key,
            # Only a caller's own key can come back; remembering generated ones is pure cost.
            remember_key=idempotency_key is not None,
            result_type=EmailReceipt,
            features=msg.required_features(),
        )

    async def send_many(
        self,
        messages: Sequence[EmailMessage | dict[str, Any]],
        *,
        concurrency: int = 10,
        idempotency_keys: Sequence[str] | None = None,
    ) -> list[SendResult[EmailReceipt]]:
        """Send many messages; one result per message, in order, never raising for one.

        An invalid message gets its InvalidRequest as its result and the others still go.
        Uses the provider's batch API where it has one, otherwise ``concurrency`` sends at once.
        Pass ``idempotency_keys`` (one per message) to make the whole call safe to repeat.
        """
        return await send_many(
            self,
            messages,
            prepare=lambda message: self._prepare(message, {}),
            features=lambda message: message.required_features(),
            send=lambda message, key: self.send(message, idempotency_key=key),
            concurrency=concurrency,
            idempotency_keys=idempotency_keys,
        )

    async def send_bulk(
        self,
        message: dict[str, Any] | None = None,
        /,
        *,
        recipients: Sequence[str | Address | BulkRecipient | dict[str, Any]],
        idempotency_key: str | None = None,
        concurrency: int = 10,
        **fields: Any,
    ) -> BulkResult:
        """Send one message to each recipient separately: their own copy, nobody sees the
        others; a ``BulkRecipient`` adds their own template data and metadata.

        The message is keyword fields (or a dict) without to/cc/bcc. Never raises for one
        recipient: invalid or failed ones are the result's ``failures``. Providers with the
        ``bulk`` feature pack recipients into few requests (``concurrency`` at once); others
        get one message per recipient through ``send_many``. With ``idempotency_key`` the
        whole call is safe to repeat.
        """
        from hub.capabilities import _email_bulk as bulk

        if concurrency < 1:
            raise InvalidRequest("concurrency must be at least 1", field="concurrency")
        data = _bulk_message(message, fields)
        prepared = bulk.prepare_recipients(recipients)
        ready, refused = prepared.ready, prepared.refused
        if not ready:
            return bulk.BulkResult(failures=refused)
        first = ready[0][1]
        stand_in = Address(email=first.email, name=first.name)  # the model needs a recipient
        template = self._prepare({**data, "to": [stand_in]}, {}).model_copy(update={"to": []})
        needed = template.required_features()
        if prepared.template_data and not template.template_id:
            raise InvalidRequest(
                "recipients carry template_data but the message has no template_id to fill",
                field="template_id",
            )
        if prepared.metadata:
            needed.add("metadata")
        key = idempotency_key or new_idempotency_key()
        if {"bulk", *needed} <= self._providers[0].spec.features:
            chosen = [recipient for _, recipient in ready]

            async def invoke(provider: Any) -> BulkResult:
                outcomes = await provider.send_bulk(
                    template, chosen, idempotency_key=key, concurrency=concurrency
                )
                return bulk.result_of(ready, outcomes, refused)

            try:
                return await self._call(
                    "send_bulk",
                    invoke,
                    idempotency_key=key,
                    remember_key=idempotency_key is not None,
                    result_type=bulk.BulkResult,
                    features={"bulk", *needed},
                )
            except HubError as exc:  # nothing was sent: every recipient failed alike
                return bulk.result_of(ready, [exc] * len(ready), refused)
        messages = [_copy_for(template, recipient) for _, recipient in ready]
        keys = [f"{key}.{index}" for index, _ in ready] if idempotency_key else None
        results = await self.send_many(messages, concurrency=concurrency, idempotency_keys=keys)
        return bulk.result_of_each(ready, results, refused)

    def _prepare(
        self, message: EmailMessage | dict[str, Any] | None, fields: dict[str, Any]
    ) -> EmailMessage:
        if message is None:
            message = fields
        elif fields:
            raise InvalidRequest("pass either a message or keyword fields, not both")
        if (
            isinstance(message, dict)
            and message.get("from") is None
            and message.get("from_") is None
            and self._sender() is not None
        ):
            # Filled before validation: one model built, not one built and one copied.
            message = {**message, "from_": self._default_from}
            message.pop("from", None)
        msg = parse_input(EmailMessage, message, what="email message")
        if msg.from_ is None:
            sender = self._sender()
            if sender is None:
                raise InvalidRequest(
                    "the message has no 'from' and no default sender is configured; pass from_= "
                    "or set HUB_EMAIL__DEFAULT_FROM",
                    field="from",
                )
            msg = msg.model_copy(update={"from_": sender})
        return msg

    def _sender(self) -> Address | None:
        """The configured default sender, parsed once (not on every send)."""
        if self._default_from is None:
            default_from = getattr(self._settings, "default_from", None)
            if default_from:
                self._default_from = parse_input(Address, default_from, what="default_from")
        return self._default_from

    @property
    def outbox(self) -> list[EmailMessage]:
        """Messages the primary provider has accepted, where it keeps them (fake, local)."""
        outbox = getattr(self.provider, "outbox", None)
        if outbox is None:
            raise AttributeError(f"email provider {self.providers[0]!r} keeps no outbox")
        return list(outbox)


def _bulk_message(message: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a bulk send's message, refusing recipients in it."""
    if isinstance(message, EmailMessage):
        raise InvalidRequest(
            "send_bulk takes the message as keyword fields or a dict without to/cc/bcc (an "
            "EmailMessage always has recipients); pass the addresses as recipients=",
            field="message",
        )
    if message is not None and fields:
        raise InvalidRequest("pass either a message dict or keyword fields, not both")
    data = dict(fields if message is None else message)
    for name in ("to", "cc", "bcc"):
        if data.get(name):
            raise InvalidRequest(
                f"send_bulk sends each recipient their own copy: leave {name!r} out of the "
                "message and pass the addresses as recipients=",
                field=name,
            )
        data.pop(name, None)
    return data


def _copy_for(template: EmailMessage, recipient: BulkRecipient) -> EmailMessage:
    """The message one recipient gets, for providers without the ``bulk`` feature."""
    update: dict[str, Any] = {"to": [Address(email=recipient.email, name=recipient.name)]}
    if recipient.template_data:
        update["template_data"] = {**template.template_data, **recipient.template_data}
    if recipient.metadata:
        update["metadata"] = {**template.metadata, **recipient.metadata}
    return template.model_copy(update=update)
