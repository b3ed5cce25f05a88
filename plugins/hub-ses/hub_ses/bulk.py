"""Messages sharing a template -> SES v2 ``SendBulkEmail`` calls, and its per-entry statuses."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hub.capabilities.email import EmailMessage
from hub_ses.mapping import (
    OPTION_KEYS,
    check_common,
    destination,
    email_tags,
    formatted_addresses,
    header_list,
    options,
    sender,
    template_data,
)

if TYPE_CHECKING:
    from hub.aws import ErrorKind
    from hub_ses.settings import SesSettings

__all__ = [
    "BULK_STATUS_KINDS",
    "MAX_BULK_ENTRIES",
    "bulk_entry",
    "bulk_group_key",
    "send_bulk_email_params",
]

#: SES accepts at most 50 destinations per SendBulkEmail call.
MAX_BULK_ENTRIES = 50
_BULK_OPTION_KEYS = OPTION_KEYS - {"ListManagementOptions"}


def bulk_group_key(message: EmailMessage) -> str | None:
    """Messages with equal keys can share one ``SendBulkEmail`` call; None: send alone."""
    if not message.template_id or message.attachments or message.send_at is not None:
        return None
    if message.text is not None or message.html is not None or message.subject:
        return None  # send() raises the precise InvalidRequest for these
    return json.dumps(
        [
            message.template_id,
            message.from_.formatted() if message.from_ else None,
            [a.formatted() for a in message.reply_to],
            message.provider_options.get("ses", {}),
        ],
        sort_keys=True,
        default=str,
    )


def send_bulk_email_params(
    first: EmailMessage, entries: Sequence[dict[str, Any]], settings: SesSettings
) -> dict[str, Any]:
    """One ``sesv2.send_bulk_email`` call: ``first`` gives what the group shares (its key)."""
    if not 0 < len(entries) <= MAX_BULK_ENTRIES:
        raise ValueError(f"a bulk call takes 1..{MAX_BULK_ENTRIES} entries, not {len(entries)}")
    params: dict[str, Any] = {
        "FromEmailAddress": sender(first),
        "DefaultContent": {"Template": {"TemplateName": first.template_id, "TemplateData": "{}"}},
        "BulkEmailEntries": list(entries),
    }
    if first.reply_to:
        params["ReplyToAddresses"] = formatted_addresses(first.reply_to, "reply_to")
    params.update(options(first, settings, _BULK_OPTION_KEYS))
    return params


def bulk_entry(message: EmailMessage) -> dict[str, Any]:
    """One destination of a bulk call: recipients, template data, tags and headers."""
    check_common(message)
    entry: dict[str, Any] = {
        "Destination": destination(message),
        "ReplacementEmailContent": {
            "ReplacementTemplate": {"ReplacementTemplateData": template_data(message.template_data)}
        },
    }
    tags = email_tags(message)
    if tags:
        entry["ReplacementTags"] = tags
    headers = header_list(message.headers)
    if headers:
        entry["ReplacementHeaders"] = headers
    return entry


#: ``BulkEmailEntryResult.Status`` values other than SUCCESS, as the hub's error kinds.
BULK_STATUS_KINDS: Mapping[str, ErrorKind] = {
    "MESSAGE_REJECTED": "invalid",
    "INVALID_PARAMETER": "invalid",
    "INVALID_SENDING_POOL_NAME": "invalid",
    "MAIL_FROM_DOMAIN_NOT_VERIFIED": "refused",
    "ACCOUNT_SUSPENDED": "refused",
    "ACCOUNT_SENDING_PAUSED": "refused",
    "CONFIGURATION_SET_SENDING_PAUSED": "refused",
    "CONFIGURATION_SET_NOT_FOUND": "not_found",
    "TEMPLATE_NOT_FOUND": "not_found",
    "ACCOUNT_THROTTLED": "rate_limited",
    "ACCOUNT_DAILY_QUOTA_EXCEEDED": "rate_limited",
    "TRANSIENT_FAILURE": "unavailable",
}
