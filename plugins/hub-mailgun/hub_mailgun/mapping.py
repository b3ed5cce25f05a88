"""EmailMessage → Mailgun's Messages API form, and Mailgun's answer → EmailReceipt.

Mailgun takes a form (``multipart/form-data`` once files are attached): repeatable ``to``/``cc``/
``bcc``, ``h:<Header>`` headers, ``o:tag`` (at most 3), ``v:<name>`` custom variables (our
metadata, echoed back in webhooks as ``user-variables``), ``template`` + ``t:variables``,
``o:deliverytime`` and ``recipient-variables`` for batch sends. Whatever Mailgun cannot express
raises InvalidRequest naming the field; nothing is dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime
from typing import Any

from hub.capabilities.email import Address, EmailMessage, EmailReceipt, RecipientResult
from hub.errors import InvalidRequest

__all__ = [
    "BATCH_LIMIT",
    "MAX_TAGS",
    "Form",
    "batch_form",
    "batch_groups",
    "message_form",
    "receipt",
]

#: Recipients one batch send may carry (Mailgun's documented limit for recipient-variables).
BATCH_LIMIT = 1000
#: Tags one message may carry.
MAX_TAGS = 3
#: Headers Mailgun builds from its own parameters; set them through the message's fields.
_FIELD_HEADERS = {"from": "from", "to": "to", "cc": "cc", "bcc": "bcc", "subject": "subject"}
_OPTION_VALUES = str | int | float | bool

File = tuple[str, tuple[str, bytes, str]]


@dataclass(slots=True)
class Form:
    """One Messages API request body: form fields (repeatable) and uploaded files."""

    data: dict[str, str | list[str]] = field(default_factory=dict)
    files: list[File] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        """Append ``value`` to a repeatable field."""
        current = self.data.get(name)
        if current is None:
            self.data[name] = value
        elif isinstance(current, list):
            current.append(value)
        else:
            self.data[name] = [current, value]

    def boundary(self) -> str:
        """A multipart boundary derived from the content, so equal requests are equal bytes.

        A random boundary (httpx's default) would make every recording of the same message
        differ; a digest of the parts cannot occur inside them by accident.
        """
        digest = hashlib.sha256()
        digest.update(json.dumps(self.data, sort_keys=True).encode("utf-8"))
        for name, (filename, content, content_type) in self.files:
            digest.update(f"\0{name}\0{filename}\0{content_type}\0".encode())
            digest.update(content)
        return f"hub-{digest.hexdigest()[:40]}"


def display(address: Address) -> str:
    """``"Name" <email>`` in plain UTF-8: Mailgun encodes the header itself."""
    if not address.name:
        return address.email
    name = address.name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{address.email}>'


def message_form(message: EmailMessage, options: Mapping[str, Any] | None = None) -> Form:
    """The form for one message; ``options`` are ``provider_options["mailgun"]``."""
    form = Form()
    if message.from_ is None:
        raise InvalidRequest("the message has no sender", field="from")
    form.add("from", display(message.from_))
    for name in ("to", "cc", "bcc"):
        for address in getattr(message, name):
            form.add(name, display(address))
    if message.subject:
        form.add("subject", message.subject)
    if message.text is not None:
        form.add("text", message.text)
    if message.html is not None:
        form.add("html", message.html)
    _headers(message, form)
    _tags_and_metadata(message, form)
    _template(message, form)
    if message.send_at is not None:
        when = message.send_at
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        form.add("o:deliverytime", format_datetime(when))
    _attachments(message, form)
    _options(options or {}, form)
    return form


def _headers(message: EmailMessage, form: Form) -> None:
    if message.reply_to:
        form.add("h:Reply-To", ", ".join(display(a) for a in message.reply_to))
    for name, value in message.headers.items():
        lowered = name.lower()
        if lowered in _FIELD_HEADERS:
            raise InvalidRequest(
                f"header {name!r} is set from the message's {_FIELD_HEADERS[lowered]!r} field; "
                "set that field instead of a custom header",
                field=f"headers.{name}",
            )
        if lowered == "reply-to" and message.reply_to:
            raise InvalidRequest(
                "both reply_to and a Reply-To header are set; keep one",
                field=f"headers.{name}",
            )
        form.add(f"h:{name}", value)


def _tags_and_metadata(message: EmailMessage, form: Form) -> None:
    if len(message.tags) > MAX_TAGS:
        raise InvalidRequest(
            f"Mailgun accepts at most {MAX_TAGS} tags per message, got {len(message.tags)}; "
            "merge some tags or move the rest into metadata",
            field="tags",
        )
    for tag in message.tags:
        form.add("o:tag", tag)
    for name, value in message.metadata.items():
        form.add(f"v:{name}", value)


def _template(message: EmailMessage, form: Form) -> None:
    if message.template_id:
        form.add("template", message.template_id)
        if message.template_data:
            form.add("t:variables", json.dumps(message.template_data, sort_keys=True))
    elif message.template_data:
        # Without a stored template, Mailgun substitutes %recipient.<name>% per recipient.
        only = message.to[0].email if len(message.to) == 1 else None
        if only is None or message.cc or message.bcc:
            raise InvalidRequest(
                "without template_id, Mailgun substitutes template_data (%recipient.<name>%) "
                "only for a message to a single 'to' recipient; set template_id or send one "
                "message per recipient",
                field="template_data",
            )
        form.add("recipient-variables", json.dumps({only: message.template_data}))


def _attachments(message: EmailMessage, form: Form) -> None:
    for index, attachment in enumerate(message.attachments):
        if attachment.inline:
            # Mailgun uses an inline file's name as its Content-ID (``cid:<name>``).
            name = attachment.content_id or attachment.filename
            form.files.append(("inline", (name, attachment.content, attachment.content_type)))
            continue
        if attachment.content_id:
            raise InvalidRequest(
                "Mailgun cannot give a regular attachment a Content-ID; mark it inline=True "
                "to reference it as cid:, or drop content_id",
                field=f"attachments[{index}].content_id",
            )
        form.files.append(
            ("attachment", (attachment.filename, attachment.content, attachment.content_type))
        )


def _options(options: Mapping[str, Any], form: Form) -> None:
    """Pass ``provider_options["mailgun"]`` through as Mailgun parameters (``o:tracking`` ...)."""
    for name, value in options.items():
        where = f"provider_options.mailgun.{name}"
        if not isinstance(name, str) or not name or name in form.data:
            raise InvalidRequest(
                f"{where} repeats a parameter the message already sets; use the message's "
                "own field instead",
                field=where,
            )
        values = value if isinstance(value, list | tuple) else [value]
        if not values or not all(isinstance(v, _OPTION_VALUES) for v in values):
            raise InvalidRequest(
                f"{where} must be a string, number, boolean or a list of them",
                field=where,
            )
        for item in values:
            form.add(name, ("yes" if item else "no") if isinstance(item, bool) else str(item))


# -- batches ------------------------------------------------------------------------------


def _batchable(message: EmailMessage) -> bool:
    own = message.provider_options.get("mailgun", {})
    return (
        len(message.to) == 1
        and not message.cc
        and not message.bcc
        and "recipient-variables" not in own
    )


def _same_but_recipient(a: EmailMessage, b: EmailMessage) -> bool:
    """Whether two messages differ only in their one recipient and substitution data."""
    keep: dict[str, Any] = {"to": [], "template_data": {}}
    if a.template_id or b.template_id:  # stored templates get one t:variables for all
        keep = {"to": []}
    return a.model_copy(update=keep) == b.model_copy(update=keep)


def batch_groups(messages: Sequence[EmailMessage]) -> list[list[int]]:
    """Indexes of messages that can share one recipient-variables send, in order.

    A group holds messages with one ``to`` address each (all different), no cc/bcc, and
    everything else equal; every other message is a group of its own.
    """
    groups: list[list[int]] = []
    open_groups: list[tuple[list[int], set[str]]] = []
    for index, message in enumerate(messages):
        if not _batchable(message):
            groups.append([index])
            continue
        address = message.to[0].email.lower()
        for members, seen in open_groups:
            if (
                address not in seen
                and len(members) < BATCH_LIMIT
                and _same_but_recipient(messages[members[0]], message)
            ):
                members.append(index)
                seen.add(address)
                break
        else:
            members = [index]
            groups.append(members)
            open_groups.append((members, {address}))
    return groups


def batch_form(messages: Sequence[EmailMessage], options: Mapping[str, Any] | None = None) -> Form:
    """One send to every message's recipient; each gets its own copy (recipient-variables)."""
    first = messages[0]
    form = message_form(first.model_copy(update={"template_data": {}}), options)
    if first.template_id and first.template_data:
        form.add("t:variables", json.dumps(first.template_data, sort_keys=True))
    form.data["to"] = [display(m.to[0]) for m in messages]
    variables = {m.to[0].email: ({} if first.template_id else m.template_data) for m in messages}
    form.data["recipient-variables"] = json.dumps(variables)
    return form


# -- the answer ---------------------------------------------------------------------------


def message_id(body: Any) -> str:
    """Mailgun's id without angle brackets: how its webhooks name the message."""
    raw = body.get("id") if isinstance(body, dict) else None
    if not isinstance(raw, str) or not raw.strip("<> "):
        raise ValueError("Mailgun's answer has no message id")
    return raw.strip().removeprefix("<").removesuffix(">")


def receipt(
    provider: str,
    message: EmailMessage,
    idempotency_key: str,
    body: Any,
    **raw: Any,
) -> EmailReceipt:
    """Every recipient is ``queued``: Mailgun accepted the message and will try to deliver."""
    seen: dict[str, None] = dict.fromkeys(a.email for a in message.recipients)
    return EmailReceipt(
        provider=provider,
        provider_id=message_id(body),
        idempotency_key=idempotency_key,
        recipients=[RecipientResult(email=email, status="queued") for email in seen],
        raw={"response": body, **raw},
    )
