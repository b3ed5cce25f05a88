"""An EmailMessage as a SendGrid v3 Mail Send request, and SendGrid's error fields as hub fields.

A message is split into the part every message of a request shares (sender, content,
attachments, template, options) and its *personalization* (recipients, subject, headers,
custom args, send time, template data). Messages whose shared parts are equal can go out in
one request with one personalization each — SendGrid's batch mechanism. Whatever SendGrid
cannot express raises InvalidRequest naming the hub field, before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.capabilities.email import Address, EmailMessage
from hub.errors import InvalidRequest
from hub.http import json_options

__all__ = [
    "MAX_RECIPIENTS",
    "MailParts",
    "hub_field",
    "mail_body",
    "split_message",
]

#: to + cc + bcc over all personalizations of one request (also caps personalizations).
MAX_RECIPIENTS = 1000
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SCHEDULE_AHEAD = timedelta(hours=72)
#: Headers SendGrid refuses in ``headers`` (they come from other fields or from SendGrid).
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)
#: Body keys the hub fills from message fields: ``provider_options`` may not set them.
MAPPED_KEYS: dict[str, str] = {
    "personalizations": "to/cc/bcc",
    "from": "from",
    "reply_to": "reply_to",
    "reply_to_list": "reply_to",
    "subject": "subject",
    "content": "text/html",
    "attachments": "attachments",
    "headers": "headers",
    "categories": "tags",
    "custom_args": "metadata",
    "template_id": "template_id",
    "send_at": "send_at",
}
# SendGrid's error "field" (first segment, or the one after personalizations.N.) -> hub field.
_HUB_FIELDS: dict[str, str] = {
    "from": "from",
    "reply_to": "reply_to",
    "reply_to_list": "reply_to",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "subject": "subject",
    "attachments": "attachments",
    "headers": "headers",
    "categories": "tags",
    "custom_args": "metadata",
    "template_id": "template_id",
    "dynamic_template_data": "template_data",
    "send_at": "send_at",
}


@dataclass(frozen=True, slots=True)
class MailParts:
    """One message as SendGrid sees it: the shareable body and its personalization."""

    shared: dict[str, Any]
    personalization: dict[str, Any]
    #: Lower-cased recipient addresses (SendGrid refuses one twice in a request).
    addresses: frozenset[str]

    @property
    def recipients(self) -> int:
        return len(self.addresses)

    def batch_key(self) -> str:
        """Equal for messages that may share one request.

        ``repr`` of the JSON data, not ``json.dumps``: half the cost, paid per message of a
        batch. ``split_message`` fills ``shared`` in a fixed order, so equal messages give
        equal keys (provider options given in another order only split a batch in two).
        """
        return repr(self.shared)


def mail_body(parts: Sequence[MailParts]) -> dict[str, Any]:
    """The request body sending ``parts`` (equal ``batch_key``) with one personalization each."""
    return {**parts[0].shared, "personalizations": [p.personalization for p in parts]}


def split_message(
    message: EmailMessage, *, provider: str = "sendgrid", now: datetime | None = None
) -> MailParts:
    """Map ``message``; InvalidRequest names the field SendGrid cannot express."""

    def invalid(field: str, problem: str) -> InvalidRequest:
        return InvalidRequest(f"{provider}: {problem}", field=field, provider=provider)

    if message.from_ is None:
        raise invalid("from", "the message has no sender; pass from_= or set a default_from")
    if not message.to:
        raise invalid(
            "to",
            "SendGrid needs at least one 'to' recipient (cc/bcc alone are refused); "
            "move one address to 'to'",
        )
    addresses = _unique_recipients(message, invalid)
    personalization: dict[str, Any] = {"to": [_address(a) for a in message.to]}
    if message.cc:
        personalization["cc"] = [_address(a) for a in message.cc]
    if message.bcc:
        personalization["bcc"] = [_address(a) for a in message.bcc]
    if message.subject:
        personalization["subject"] = message.subject
    elif not message.template_id:
        raise invalid("subject", "SendGrid needs a subject unless a template provides it")
    if message.headers:
        _check_headers(message.headers, invalid)
        personalization["headers"] = dict(message.headers)
    if message.metadata:
        size = len(json.dumps(message.metadata, ensure_ascii=False).encode())
        if size > MAX_CUSTOM_ARGS_BYTES:
            raise invalid(
                "metadata",
                f"metadata is {size} bytes as JSON; SendGrid custom_args allow at most "
                f"{MAX_CUSTOM_ARGS_BYTES}",
            )
        personalization["custom_args"] = dict(message.metadata)
    if message.send_at is not None:
        personalization["send_at"] = _send_at(message.send_at, now, invalid)
    if message.template_data:
        if not message.template_id:
            raise invalid("template_data", "template_data needs a template_id to fill")
        personalization["dynamic_template_data"] = message.template_data

    shared: dict[str, Any] = {"from": _address(message.from_)}
    if message.reply_to:
        shared["reply_to_list"] = [_address(a) for a in message.reply_to]
    content = _content(message, invalid)
    if content:
        shared["content"] = content
    if message.attachments:
        shared["attachments"] = [_attachment(a) for a in message.attachments]
    if message.tags:
        shared["categories"] = _categories(message.tags, invalid)
    if message.template_id:
        shared["template_id"] = message.template_id
    options = message.provider_options.get(provider, {})
    shared.update(json_options(options, provider=provider, mapped=MAPPED_KEYS))
    return MailParts(shared=shared, personalization=personalization, addresses=addresses)


def hub_field(sendgrid_field: str | None) -> str | None:
    """The hub field a SendGrid error names (``personalizations.0.to.1.email`` -> ``to``)."""
    if not sendgrid_field:
        return None
    parts = sendgrid_field.split(".")
    key = parts[2] if parts[0] == "personalizations" and len(parts) > 2 else parts[0]
    if key in _HUB_FIELDS:
        return _HUB_FIELDS[key]
    if key in ("personalizations", "content"):
        return None  # no single hub field says which
    return f"provider_options.sendgrid.{key}"


# -- pieces -----------------------------------------------------------------------------------


def _address(address: Address) -> dict[str, str]:
    if address.name:
        return {"email": address.email, "name": address.name}
    return {"email": address.email}


def _unique_recipients(message: EmailMessage, invalid: Any) -> frozenset[str]:
    seen: set[str] = set()
    for field in ("to", "cc", "bcc"):
        for address in getattr(message, field):
            lowered = address.email.lower()
            if lowered in seen:
                raise invalid(
                    field,
                    f"{address.email} appears more than once in to/cc/bcc; SendGrid refuses "
                    "duplicate recipients, keep one",
                )
            seen.add(lowered)
    if len(seen) > MAX_RECIPIENTS:
        raise invalid(
            "to", f"{len(seen)} recipients; SendGrid allows at most {MAX_RECIPIENTS} per message"
        )
    return frozenset(seen)


def _check_headers(headers: dict[str, str], invalid: Any) -> None:
    for name in headers:
        if name.lower() in RESERVED_HEADERS:
            raise invalid(
                "headers",
                f"SendGrid does not accept the {name!r} header in headers; set it through the "
                "message field of the same meaning",
            )


def _send_at(when: datetime, now: datetime | None, invalid: Any) -> int:
    moment = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    if moment - (now or datetime.now(UTC)) > MAX_SCHEDULE_AHEAD:
        raise invalid("send_at", "SendGrid schedules at most 72 hours ahead; send later or sooner")
    return int(moment.timestamp())


def _content(message: EmailMessage, invalid: Any) -> list[dict[str, str]]:
    content = []
    # text/plain must come first, then text/html (SendGrid's rule).
    for field, kind in (("text", "text/plain"), ("html", "text/html")):
        value = getattr(message, field)
        if value is None:
            continue
        if not value:
            raise invalid(field, f"SendGrid refuses an empty {field} body; omit it instead")
        content.append({"type": kind, "value": value})
    return content


def _attachment(attachment: Any) -> dict[str, str]:
    item = {
        "content": attachment.content_base64,
        "filename": attachment.filename,
        "type": attachment.content_type,
        "disposition": "inline" if attachment.inline else "attachment",
    }
    if attachment.inline and attachment.content_id:
        item["content_id"] = attachment.content_id
    return item


def _categories(tags: list[str], invalid: Any) -> list[str]:
    if len(tags) > MAX_CATEGORIES:
        raise invalid(
            "tags", f"{len(tags)} tags; SendGrid allows at most {MAX_CATEGORIES} categories"
        )
    for tag in tags:
        if len(tag) > MAX_CATEGORY_LENGTH:
            raise invalid(
                "tags", f"a tag is {len(tag)} characters; SendGrid allows {MAX_CATEGORY_LENGTH}"
            )
    return list(tags)
