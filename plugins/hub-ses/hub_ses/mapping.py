"""EmailMessage -> SES v2 ``SendEmail`` parameters, refusing what SES cannot express.

Content is ``Simple`` (subject and bodies, UTF-8) for plain messages, ``Raw`` MIME (rendered by
the hub, 7-bit clean) when there are attachments or custom headers, and ``Template`` for a
``template_id``. Tags and metadata become SES message tags. Whatever SES cannot express raises
InvalidRequest naming the field, never a silent drop.
"""

from __future__ import annotations

import email.policy
import json
import re
from collections.abc import Mapping, Sequence
from email.message import EmailMessage as MimeMessage
from typing import TYPE_CHECKING, Any

from hub.capabilities._mime import to_mime
from hub.capabilities.email import Address, Attachment, EmailMessage
from hub.errors import InvalidRequest

if TYPE_CHECKING:
    from hub_ses.settings import SesSettings

__all__ = [
    "MAX_RECIPIENTS",
    "OPTION_KEYS",
    "check_common",
    "destination",
    "email_tags",
    "formatted_addresses",
    "header_list",
    "options",
    "send_email_params",
    "sender",
    "template_data",
]

#: SES accepts at most 50 recipients (To + Cc + Bcc) per message.
MAX_RECIPIENTS = 50
#: SES v2 refuses messages over 40 MB (after encoding).
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
MAX_TEMPLATE_DATA = 262_144
CHARSET = "UTF-8"

_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9_-]{0,256}$")
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,126}$")  # printable ASCII except ':'
# Headers the message's own fields produce; setting them twice would corrupt the message.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
    }
)
#: SendEmail parameters a caller may set through ``provider_options={"ses": {...}}``.
OPTION_KEYS = frozenset(
    {
        "ConfigurationSetName",
        "FromEmailAddressIdentityArn",
        "FeedbackForwardingEmailAddress",
        "FeedbackForwardingEmailAddressIdentityArn",
        "EndpointId",
        "TenantName",
        "ListManagementOptions",
        "ConfigurationOverrides",
    }
)


# -- SendEmail ------------------------------------------------------------------------------


def send_email_params(message: EmailMessage, settings: SesSettings) -> dict[str, Any]:
    """The keyword arguments of ``sesv2.send_email`` for ``message``."""
    check_common(message)
    params: dict[str, Any] = {
        "FromEmailAddress": sender(message),
        "Destination": destination(message),
        "Content": content(message),
    }
    if message.reply_to:
        params["ReplyToAddresses"] = formatted_addresses(message.reply_to, "reply_to")
    tags = email_tags(message)
    if tags:
        params["EmailTags"] = tags
    params.update(options(message, settings, OPTION_KEYS))
    return params


def destination(message: EmailMessage) -> dict[str, list[str]]:
    """To/Cc/Bcc in the form SES accepts (ASCII local parts, punycode domains)."""
    found: dict[str, list[str]] = {}
    for key, field, addresses in (
        ("ToAddresses", "to", message.to),
        ("CcAddresses", "cc", message.cc),
        ("BccAddresses", "bcc", message.bcc),
    ):
        if addresses:
            found[key] = formatted_addresses(addresses, field)
    return found


def content(message: EmailMessage) -> dict[str, Any]:
    """``Template`` for a template id, ``Raw`` MIME where needed, else ``Simple``."""
    if message.template_id:
        return {"Template": _template(message)}
    if message.attachments or message.headers:
        return {"Raw": {"Data": raw_mime(message)}}
    body: dict[str, Any] = {}
    if message.text is not None:
        body["Text"] = {"Data": message.text, "Charset": CHARSET}
    if message.html is not None:
        body["Html"] = {"Data": message.html, "Charset": CHARSET}
    return {"Simple": {"Subject": {"Data": message.subject, "Charset": CHARSET}, "Body": body}}


def raw_mime(message: EmailMessage) -> bytes:
    """The message as 7-bit MIME: SES does not speak SMTPUTF8 or 8BITMIME."""
    _check_headers(message.headers)
    ascii_message = message.model_copy(
        update={
            "from_": _ascii_address(message.from_, "from") if message.from_ else None,
            "to": [_ascii_address(a, f"to[{i}]") for i, a in enumerate(message.to)],
            "cc": [_ascii_address(a, f"cc[{i}]") for i, a in enumerate(message.cc)],
            "reply_to": [
                _ascii_address(a, f"reply_to[{i}]") for i, a in enumerate(message.reply_to)
            ],
        }
    )
    try:
        mime = to_mime(ascii_message)
    except ValueError as exc:
        raise InvalidRequest(f"the message cannot be rendered as MIME: {exc}") from None
    _seven_bit(mime)
    data = mime.as_bytes(policy=email.policy.SMTP)
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidRequest(
            f"the message is {len(data)} bytes encoded; SES accepts at most 40 MB: send large "
            "files as links instead of attachments",
            field="attachments",
        )
    return data


def _seven_bit(mime: MimeMessage) -> None:
    """Re-encode 8bit text parts as quoted-printable, keeping their disposition and filename."""
    for part in mime.walk():
        if part.is_multipart() or part.get("Content-Transfer-Encoding", "").lower() != "8bit":
            continue
        assert isinstance(part, MimeMessage)
        part.set_content(
            part.get_content(),
            subtype=part.get_content_subtype(),
            cte="quoted-printable",
            disposition=part.get_content_disposition(),
            filename=part.get_filename(),
        )


def _template(message: EmailMessage) -> dict[str, Any]:
    for field in ("text", "html"):
        if getattr(message, field) is not None:
            raise InvalidRequest(
                f"SES cannot send '{field}' together with a template: the template holds the "
                f"content; drop '{field}' or send without template_id",
                field=field,
            )
    if message.subject:
        raise InvalidRequest(
            "SES takes the subject from the template; drop 'subject' and use a template "
            "variable (pass it in template_data)",
            field="subject",
        )
    template: dict[str, Any] = {
        "TemplateName": message.template_id,
        "TemplateData": template_data(message.template_data),
    }
    headers = header_list(message.headers)
    if headers:
        template["Headers"] = headers
    if message.attachments:
        template["Attachments"] = [_attachment(a) for a in message.attachments]
    return template


def template_data(data: Mapping[str, Any], field: str = "template_data") -> str:
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"{field} must be JSON-serializable: {exc}", field=field) from None
    if len(text) > MAX_TEMPLATE_DATA:
        raise InvalidRequest(
            f"{field} is {len(text)} characters as JSON; SES accepts at most {MAX_TEMPLATE_DATA}",
            field=field,
        )
    return text


def header_list(headers: Mapping[str, str]) -> list[dict[str, str]]:
    """Custom headers as SES ``MessageHeader`` objects (printable ASCII only)."""
    _check_headers(headers)
    found = []
    for name, value in headers.items():
        if not _HEADER_NAME.match(name) or not value.isascii() or len(name) + len(value) > 996:
            raise InvalidRequest(
                f"SES templates take printable ASCII headers up to 996 characters; header "
                f"{name!r} is not one: encode the value or send without template_id",
                field=f"headers.{name}",
            )
        found.append({"Name": name, "Value": value})
    return found


def _check_headers(headers: Mapping[str, str]) -> None:
    for name in headers:
        if name.lower() in _RESERVED_HEADERS:
            raise InvalidRequest(
                f"header {name!r} is set from the message's own fields; use those instead of "
                "headers",
                field=f"headers.{name}",
            )


def _attachment(attachment: Attachment) -> dict[str, Any]:
    found: dict[str, Any] = {
        "RawContent": attachment.content,
        "FileName": attachment.filename,
        "ContentType": attachment.content_type,
        "ContentDisposition": "INLINE" if attachment.inline else "ATTACHMENT",
    }
    if attachment.content_id:
        found["ContentId"] = attachment.content_id
    return found


# -- tags, options, addresses ---------------------------------------------------------------


def email_tags(message: EmailMessage) -> list[dict[str, str]]:
    """Tags as ``{Name: tag, Value: "true"}``, metadata as ``{Name: key, Value: value}``."""
    found: dict[str, str] = {}
    for index, tag in enumerate(message.tags):
        _check_tag(tag, tag, field=f"tags[{index}]")
        found[tag] = "true"
    for key, value in message.metadata.items():
        _check_tag(key, value, field=f"metadata.{key}")
        if key in found:
            raise InvalidRequest(
                f"metadata key {key!r} is also a tag; SES message tags need unique names",
                field=f"metadata.{key}",
            )
        found[key] = value
    return [{"Name": name, "Value": value} for name, value in found.items()]


def _check_tag(name: str, value: str, *, field: str) -> None:
    if not _TAG.match(name) or not _TAG_VALUE.match(value):
        raise InvalidRequest(
            f"SES message tag names and values may only contain ASCII letters, digits, '_' "
            f"and '-' (at most 256 characters); {field} does not: use e.g. "
            f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)[:256] or 'tag'!r}",
            field=field,
        )


def options(
    message: EmailMessage, settings: SesSettings, allowed: frozenset[str]
) -> dict[str, Any]:
    """Defaults from settings, then ``provider_options["ses"]`` on top (only known keys)."""
    found: dict[str, Any] = {}
    if settings.configuration_set:
        found["ConfigurationSetName"] = settings.configuration_set
    if settings.from_arn:
        found["FromEmailAddressIdentityArn"] = settings.from_arn
    if settings.feedback_forwarding_address:
        found["FeedbackForwardingEmailAddress"] = settings.feedback_forwarding_address
    for key, value in message.provider_options.get("ses", {}).items():
        if key not in allowed:
            raise InvalidRequest(
                f"provider_options.ses.{key} is not an SES option this call accepts; known: "
                f"{', '.join(sorted(allowed))} (recipients, content and tags come from the "
                "message's own fields)",
                field=f"provider_options.ses.{key}",
            )
        found[key] = value
    return found


def check_common(message: EmailMessage) -> None:
    if message.send_at is not None:
        raise InvalidRequest(
            "SES cannot schedule a send; drop send_at or schedule the call yourself",
            field="send_at",
        )
    count = len(message.recipients)
    if count > MAX_RECIPIENTS:
        raise InvalidRequest(
            f"the message has {count} recipients; SES accepts at most {MAX_RECIPIENTS} across "
            "to, cc and bcc: split it, or use send_many with one message per recipient",
            field="to",
        )


def sender(message: EmailMessage) -> str:
    if message.from_ is None:
        raise InvalidRequest("the message has no sender", field="from")
    return _ascii_address(message.from_, "from").formatted()


def formatted_addresses(found: Sequence[Address], field: str) -> list[str]:
    """Addresses in the form SES accepts; errors name ``field[index]``."""
    return [_ascii_address(a, f"{field}[{i}]").formatted() for i, a in enumerate(found)]


def _ascii_address(address: Address, field: str) -> Address:
    """The address with a punycode domain; SES has no SMTPUTF8, so the local part must be ASCII."""
    local, _, domain = address.email.rpartition("@")
    if not local.isascii():
        raise InvalidRequest(
            f"SES cannot deliver to {address.email!r}: the part before '@' must be ASCII "
            "(SES does not support SMTPUTF8)",
            field=field,
        )
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidRequest(
            f"the domain of {address.email!r} cannot be encoded for SES (IDNA)", field=field
        ) from None
    if ascii_domain == domain:
        return address
    # Already validated; only the domain's spelling changes.
    return Address.model_construct(email=f"{local}@{ascii_domain}", name=address.name)
