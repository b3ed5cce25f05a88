"""Render an EmailMessage as RFC 5322 MIME: shared by the local provider, SMTP and raw SES."""

from __future__ import annotations

import email.policy
import json
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

from hub.errors import InvalidRequest

if TYPE_CHECKING:
    from hub.capabilities.email import Address, EmailMessage

__all__ = ["mailbox", "to_mime"]


def to_mime(message: EmailMessage, *, message_id: str | None = None) -> MimeMessage:
    """Build the MIME tree: text/html alternatives, inline images related, attachments mixed.

    Bcc recipients are deliberately left out of the headers; tags and metadata travel as
    ``X-Tags`` / ``X-Metadata`` headers so nothing the caller set is dropped.
    """
    # RFC 2047 encoded words, not raw UTF-8 headers: readable by every parser and SMTP server.
    mime = MimeMessage(policy=email.policy.default)
    assert message.from_ is not None, "the service fills the default sender before this"
    mime["From"] = _address(message.from_)
    if message.to:
        mime["To"] = tuple(_address(a) for a in message.to)
    if message.cc:
        mime["Cc"] = tuple(_address(a) for a in message.cc)
    if message.reply_to:
        mime["Reply-To"] = tuple(_address(a) for a in message.reply_to)
    mime["Subject"] = message.subject
    mime["Message-ID"] = message_id or make_msgid(domain=message.from_.email.rsplit("@", 1)[1])
    if message.send_at:
        mime["Date"] = format_datetime(message.send_at)
    if message.tags:
        mime["X-Tags"] = ", ".join(message.tags)
    if message.metadata:
        mime["X-Metadata"] = json.dumps(message.metadata, sort_keys=True)
    if message.template_id:
        mime["X-Template-Id"] = message.template_id
    for name, value in message.headers.items():
        _check_header(mime, name)
        mime[name] = value
    text = message.text
    if text is None and message.html is None:
        text = json.dumps(message.template_data, sort_keys=True, indent=2)
    if text is not None:
        mime.set_content(text)
    if message.html is not None:
        if text is None:
            mime.set_content(message.html, subtype="html")
        else:
            mime.add_alternative(message.html, subtype="html")
    html_part = _html_part(mime)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if attachment.inline and html_part is not None:
            html_part.add_related(
                attachment.content,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                cid=f"<{attachment.content_id}>",
                filename=attachment.filename,
                disposition="inline",
            )
        else:
            mime.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
                disposition="inline" if attachment.inline else "attachment",
                cid=f"<{attachment.content_id}>" if attachment.content_id else None,
            )
    return mime


def mailbox(email: str) -> str:
    """``email`` as headers and SMTP commands carry it: an IDN domain as punycode (A-labels).

    Only a non-ASCII local part (``zoë@example.com``) then needs SMTPUTF8.
    """
    local, _, domain = email.rpartition("@")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def _address(address: Address) -> HeaderAddress:
    """A header address the generator encodes for the wire it writes to.

    Display names become RFC 2047 words under the plain SMTP policy and stay UTF-8 under
    SMTPUTF8; an internationalized local part is kept as is, which ``formataddr`` cannot do.
    """
    username, _, domain = mailbox(address.email).rpartition("@")
    return HeaderAddress(display_name=address.name or "", username=username, domain=domain)


def _check_header(mime: MimeMessage, name: str) -> None:
    """Refuse a custom header that would clash with one the message's fields produce.

    A second Subject (or From...) would make the MIME invalid, a Content-* header would be
    dropped by ``set_content`` and a Bcc header would show the blind copies to everyone.
    """
    lowered = name.lower()
    if not name.isascii() or not name.isprintable():
        problem = "is not a printable ASCII header name (RFC 5322)"
    elif lowered == "bcc":
        problem = "would reveal blind copies to every recipient; use the bcc field"
    elif lowered.startswith("content-") or lowered == "mime-version":
        problem = "is set from the message's body and attachments"
    elif name in mime:
        problem = "clashes with a header set from the message's own fields; set that field"
    else:
        return
    raise InvalidRequest(f"custom header {name!r} {problem}", field=f"headers.{name}")


def _html_part(mime: MimeMessage) -> MimeMessage | None:
    for part in mime.walk():
        if isinstance(part, MimeMessage) and part.get_content_type() == "text/html":
            return part
    return None
