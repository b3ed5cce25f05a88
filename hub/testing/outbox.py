"""Assertions over what the fake and local providers sent, printing the whole outbox on failure.

::

    from hub.testing.outbox import assert_sent

    await hub.email.send(to="ada@example.com", subject="Welcome", text="Hi Ada")
    assert_sent(hub, to="ada@example.com", subject="Welcome", contains="Hi Ada")
    assert_sent(hub.sms, to="+14155550100", contains="code", count=1)

A :class:`~hub.Hub` stands for its email service; pass ``hub.sms`` for text messages. Email
outboxes of the ``fake`` provider hold the messages themselves, those of ``local`` hold ``.eml``
files; both read the same here.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any, Literal

from hub.capabilities.email import EmailMessage
from hub.capabilities.sms import SmsMessage, normalize_phone_number
from hub.errors import InvalidRequest

__all__ = ["SentMessage", "assert_sent", "sent_messages"]

Channel = Literal["email", "sms"]
_PREVIEW = 160


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message from an outbox, the same shape for email and SMS."""

    channel: Channel
    to: tuple[str, ...]
    sender: str | None
    subject: str | None
    text: str
    html: str | None
    #: What the outbox held: an ``EmailMessage``, an ``.eml`` path or an ``SmsMessage``.
    original: Any

    def describe(self) -> str:
        """A few readable lines: who, what subject, the start of the body."""
        lines = [f"{self.channel} from {self.sender or '?'} to {', '.join(self.to) or '?'}"]
        if self.subject is not None:
            lines.append(f"subject: {self.subject!r}")
        body = self.text if self.text else (self.html or "")
        preview = " ".join(body.split())
        if len(preview) > _PREVIEW:
            preview = f"{preview[:_PREVIEW]}... ({len(preview)} characters)"
        lines.append(f"{'text' if self.text else 'html'}: {preview!r}")
        return "\n     ".join(lines)


def _service(hub_or_service: Any) -> tuple[Channel, Any]:
    capability = getattr(hub_or_service, "capability", None)
    if capability in ("email", "sms"):
        return capability, hub_or_service
    if hasattr(hub_or_service, "service"):  # a Hub: its email service
        return "email", hub_or_service.service("email")
    raise TypeError(
        f"assert_sent() takes a Hub, hub.email or hub.sms, not {type(hub_or_service).__name__}"
    )


def sent_messages(hub_or_service: Any) -> list[SentMessage]:
    """The outbox of ``hub`` (its email), ``hub.email`` or ``hub.sms``, oldest first."""
    channel, service = _service(hub_or_service)
    try:
        outbox: Sequence[Any] = service.outbox
    except AttributeError as exc:
        raise TypeError(
            f"{exc}; outbox assertions work with the 'fake' and 'local' providers (the `hub` "
            "fixture uses 'fake')"
        ) from None
    return [_from_sms(item) if channel == "sms" else _from_email(item) for item in outbox]


def _from_email(item: Any) -> SentMessage:
    if isinstance(item, EmailMessage):
        return SentMessage(
            channel="email",
            to=tuple(a.email for a in item.recipients),
            sender=item.from_.email if item.from_ else None,
            subject=item.subject,
            text=item.text or "",
            html=item.html,
            original=item,
        )
    if isinstance(item, Path):
        return _from_eml(item)
    raise TypeError(f"cannot read an email outbox entry of type {type(item).__name__}")


def _from_eml(path: Path) -> SentMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, MimeMessage)
    headers = [str(value) for name in ("to", "cc", "bcc") for value in parsed.get_all(name, [])]
    senders = getaddresses([str(parsed.get("from", ""))])
    return SentMessage(
        channel="email",
        to=tuple(address.lower() for _, address in getaddresses(headers) if address),
        sender=senders[0][1] if senders and senders[0][1] else None,
        subject=str(parsed.get("subject", "")),
        text=_part(parsed, "plain") or "",
        html=_part(parsed, "html"),
        original=path,
    )


def _part(message: MimeMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_subtype() != subtype:
        return None
    content = body.get_content()
    return content if isinstance(content, str) else None


def _from_sms(item: Any) -> SentMessage:
    if not isinstance(item, SmsMessage):
        raise TypeError(f"cannot read an sms outbox entry of type {type(item).__name__}")
    return SentMessage(
        channel="sms",
        to=(item.to,),
        sender=item.sender,
        subject=None,
        text=item.body,
        html=None,
        original=item,
    )


def _wanted_recipients(channel: Channel, to: str | Iterable[str] | None) -> list[str]:
    if to is None:
        return []
    values = [to] if isinstance(to, str) else list(to)
    if channel == "sms":
        try:
            return [normalize_phone_number(value) for value in values]
        except InvalidRequest as exc:
            raise ValueError(f"assert_sent(to=...): {exc}") from None
    return [value.strip().lower() for value in values]


def _matches(
    message: SentMessage, to: list[str], subject: str | None, contains: str | None
) -> bool:
    recipients = {address.lower() for address in message.to}
    if any(address not in recipients for address in to):
        return False
    if subject is not None and message.subject != subject:
        return False
    if contains is not None:
        haystack = [message.text, message.html or "", message.subject or ""]
        return any(contains in text for text in haystack)
    return True


def assert_sent(
    hub_or_service: Any,
    *,
    to: str | Iterable[str] | None = None,
    subject: str | None = None,
    contains: str | None = None,
    count: int | None = None,
) -> list[SentMessage]:
    """Assert that messages matching every given criterion were sent; return them.

    ``to``: each address must be among the recipients (to, cc or bcc; for SMS the E.164
    number, any spelling). ``subject``: equal. ``contains``: a substring of the text, HTML or
    subject. ``count``: exactly this many match (default: at least one). On failure the
    AssertionError lists the criteria and every message in the outbox.
    """
    __tracebackhide__ = True
    channel, _ = _service(hub_or_service)
    if channel == "sms" and subject is not None:
        raise ValueError("text messages have no subject; drop subject= or assert on hub.email")
    if count is not None and count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    if to is not None and not isinstance(to, str):
        to = list(to)
    messages = sent_messages(hub_or_service)
    wanted = _wanted_recipients(channel, to)
    found = [m for m in messages if _matches(m, wanted, subject, contains)]
    if (count is None and found) or (count is not None and len(found) == count):
        return found
    raise AssertionError(_failure(channel, messages, found, to, subject, contains, count))


def _failure(
    channel: Channel,
    messages: list[SentMessage],
    found: list[SentMessage],
    to: str | Iterable[str] | None,
    subject: str | None,
    contains: str | None,
    count: int | None,
) -> str:
    shown = to if to is None or isinstance(to, str) else list(to)
    criteria = [
        f"{name}={value!r}"
        for name, value in (("to", shown), ("subject", subject), ("contains", contains))
        if value is not None
    ]
    wanted = f"exactly {count}" if count is not None else "at least 1"
    head = (
        f"expected {wanted} {channel} message(s) matching {', '.join(criteria) or 'anything'}; "
        f"found {len(found)}."
    )
    if not messages:
        return f"{head}\nThe {channel} outbox is empty."
    listing = "\n".join(
        f"  #{number} {'(matches) ' if any(m is message for m in found) else ''}"
        f"{message.describe()}"
        for number, message in enumerate(messages, start=1)
    )
    return f"{head}\nThe {channel} outbox holds {len(messages)} message(s):\n{listing}"
