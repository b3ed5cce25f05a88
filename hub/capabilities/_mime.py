"""Render an EmailMessage as RFC 5322 MIME: shared by the local provider, SMTP and raw SES."""

from __future__ import annotations

import email.policy
import json
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.capabilities.email import EmailMessage

__all__ = ["to_mime"]


def to_mime(message: EmailMessage, *, message_id: str | None = None) -> MimeMessage:
    """Build the MIME tree: text/html alternatives, inline images related, attachments mixed.

    Bcc recipients are deliberately left out of the headers; tags and metadata travel as
    ``X-Tags`` / ``X-Metadata`` headers so nothing the caller set is dropped.
    """
    mime = MimeMessage(policy=email.policy.SMTPUTF8)
    assert message.from_ is not None, "the service fills the default sender before this"
    mime["From"] = message.from_.formatted()
    if message.to:
        mime["To"] = ", ".join(a.formatted() for a in message.to)
    if message.cc:
        mime["Cc"] = ", ".join(a.formatted() for a in message.cc)
    if message.reply_to:
        mime["Reply-To"] = ", ".join(a.formatted() for a in message.reply_to)
    mime["Subject"] = message.subject
    mime["Message-ID"] = message_id or make_msgid(domain=message.from_.email.rsplit("@", 1)[1])
    if message.send_at:
        mime["Date"] = format_datetime(message.send_at)
    for name, value in message.headers.items():
        mime[name] = value
    if message.tags:
        mime["X-Tags"] = ", ".join(message.tags)
    if message.metadata:
        mime["X-Metadata"] = json.dumps(message.metadata, sort_keys=True)
    if message.template_id:
        mime["X-Template-Id"] = message.template_id
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


def _html_part(mime: MimeMessage) -> MimeMessage | None:
    for part in mime.walk():
        if isinstance(part, MimeMessage) and part.get_content_type() == "text/html":
            return part
    return None
