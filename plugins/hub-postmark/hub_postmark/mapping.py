"""An EmailMessage as a Postmark Email API request, and Postmark's answers as receipts.

A message goes to ``/email`` or, with a ``template_id``, to ``/email/withTemplate`` (numeric ids
become ``TemplateId``, anything else ``TemplateAlias``). Addresses are comma-joined
``"Name" <email>`` strings. Whatever Postmark cannot express — a second tag, more than 50
recipients, a send time — raises before anything is sent, naming the hub field.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from hub.capabilities.email import Address, Attachment, EmailMessage, EmailReceipt, RecipientResult
from hub.errors import InvalidRequest, UnsupportedFeature
from hub.http import json_options

__all__ = [
    "INACTIVE_RECIPIENT",
    "MAX_RECIPIENTS",
    "Kind",
    "inactive_addresses",
    "message_body",
    "receipt",
]

Kind = Literal["email", "template"]
#: to + cc + bcc of one message.
MAX_RECIPIENTS = 50
MAX_TAG_LENGTH = 1000
#: ErrorCode of a send refused for (some of) its recipients: they are suppressed.
INACTIVE_RECIPIENT = 406
#: Body keys the hub fills from message fields: ``provider_options`` may not set them.
MAPPED_KEYS: dict[str, str] = {
    "From": "from",
    "To": "to",
    "Cc": "cc",
    "Bcc": "bcc",
    "ReplyTo": "reply_to",
    "Subject": "subject",
    "HtmlBody": "html",
    "TextBody": "text",
    "Headers": "headers",
    "Tag": "tags",
    "Metadata": "metadata",
    "Attachments": "attachments",
    "TemplateId": "template_id",
    "TemplateAlias": "template_id",
    "TemplateModel": "template_data",
}
_FOUND = re.compile(r"inactive addresses?:\s*(.+)", re.IGNORECASE | re.DOTALL)
_EMAIL = re.compile(r"[^\s,;:<>\"']+@[^\s,;:<>\"']+")


def message_body(
    message: EmailMessage, *, message_stream: str | None = None, provider: str = "postmark"
) -> tuple[Kind, dict[str, Any]]:
    """``(kind, body)`` for ``message``; InvalidRequest names the field Postmark cannot take."""

    def invalid(field: str, problem: str) -> InvalidRequest:
        return InvalidRequest(f"{provider}: {problem}", field=field, provider=provider)

    if message.from_ is None:
        raise invalid("from", "the message has no sender; pass from_= or set a default_from")
    if message.send_at is not None:
        raise UnsupportedFeature(
            f"{provider}: Postmark cannot schedule a send (send_at); send it when it is due "
            "or configure a provider with scheduled_send",
            feature="scheduled_send",
            provider=provider,
        )
    if len(message.recipients) > MAX_RECIPIENTS:
        raise invalid(
            "to",
            f"{len(message.recipients)} recipients; Postmark allows at most {MAX_RECIPIENTS} "
            "(to + cc + bcc) per message: split it, or use send_many",
        )
    body: dict[str, Any] = {"From": _address(message.from_)}
    for key, field in (("To", "to"), ("Cc", "cc"), ("Bcc", "bcc"), ("ReplyTo", "reply_to")):
        addresses = getattr(message, field)
        if addresses:
            body[key] = ", ".join(_address(a) for a in addresses)
    kind: Kind = "email"
    if message.template_id:
        kind = "template"
        for field in ("subject", "text", "html"):
            if getattr(message, field):
                raise invalid(
                    field,
                    f"a Postmark template supplies the {field}; drop it or drop template_id",
                )
        template = message.template_id
        if template.isdigit():
            body["TemplateId"] = int(template)
        else:
            body["TemplateAlias"] = template
        body["TemplateModel"] = message.template_data
    else:
        if message.template_data:
            raise invalid("template_data", "template_data needs a template_id to fill")
        if message.subject:
            body["Subject"] = message.subject
        if message.html is not None:
            body["HtmlBody"] = message.html
        if message.text is not None:
            body["TextBody"] = message.text
    if message.headers:
        body["Headers"] = [{"Name": k, "Value": v} for k, v in message.headers.items()]
    if message.tags:
        body["Tag"] = _tag(message.tags, invalid)
    if message.metadata:
        _check_metadata(message.metadata, invalid)
        body["Metadata"] = dict(message.metadata)
    if message.attachments:
        body["Attachments"] = [_attachment(a) for a in message.attachments]
    if message_stream:
        body["MessageStream"] = message_stream
    options = message.provider_options.get(provider, {})
    body.update(json_options(options, provider=provider, mapped=MAPPED_KEYS))
    return kind, body


def receipt(
    answer: dict[str, Any],
    message: EmailMessage,
    *,
    provider: str,
    idempotency_key: str,
    inactive: set[str] | None = None,
) -> EmailReceipt:
    """A receipt from Postmark's answer; ``inactive`` addresses (error 406) are *rejected*."""
    message_id = answer.get("MessageID") or None
    refused = {a.lower() for a in inactive or ()}
    if inactive is not None and not refused:  # Postmark did not say which: all of them
        refused = {a.email.lower() for a in message.recipients}
    reason = "inactive recipient (hard bounce, spam complaint or manual suppression)"
    results = []
    for address in message.recipients:
        if address.email.lower() in refused:
            results.append(RecipientResult(email=address.email, status="rejected", reason=reason))
        else:
            # After a 406 without a MessageID, whether the others got it is not said.
            status = "queued" if message_id else "unknown"
            results.append(RecipientResult(email=address.email, status=status))
    return EmailReceipt(
        provider=provider,
        provider_id=str(message_id) if message_id else None,
        idempotency_key=idempotency_key,
        recipients=results,
        raw=answer,
    )


def inactive_addresses(text: str) -> set[str]:
    """The addresses listed after "Found inactive addresses:" in a 406 message."""
    found = _FOUND.search(text)
    if found is None:
        return set()
    listed = found.group(1).split(". Inactive")[0]
    return {match.rstrip(".").lower() for match in _EMAIL.findall(listed)}


# -- pieces -----------------------------------------------------------------------------------


def _address(address: Address) -> str:
    """``"Name" <email>``: the name always quoted, so commas and dots in it are safe."""
    if not address.name:
        return address.email
    name = address.name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{address.email}>'


def _tag(tags: list[str], invalid: Any) -> str:
    if len(tags) > 1:
        raise invalid(
            "tags",
            f"Postmark takes one tag per message, got {len(tags)}; keep one, and put the "
            "rest in metadata",
        )
    if len(tags[0]) > MAX_TAG_LENGTH:
        raise invalid("tags", f"Postmark tags are at most {MAX_TAG_LENGTH} characters")
    return tags[0]


def _check_metadata(metadata: dict[str, str], invalid: Any) -> None:
    seen: set[str] = set()
    for key in metadata:
        if key.lower() in seen:
            raise invalid(
                "metadata",
                f"metadata keys differing only in case ({key!r}) are refused by Postmark",
            )
        seen.add(key.lower())


def _attachment(attachment: Attachment) -> dict[str, str]:
    item = {
        "Name": attachment.filename,
        "Content": attachment.content_base64,
        "ContentType": attachment.content_type,
    }
    if attachment.inline and attachment.content_id:
        cid = attachment.content_id
        item["ContentID"] = cid if cid.startswith("cid:") else f"cid:{cid}"
    return item
