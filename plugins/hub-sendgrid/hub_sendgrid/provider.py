"""SendGrid email over ``POST /v3/mail/send``, on :class:`hub.http.HttpProvider`.

SendGrid answers ``202 Accepted`` with an empty body and the request's id in ``X-Message-Id``;
every recipient is then *queued*. Delivery outcomes arrive later through the Event Webhook,
whose ``sg_message_id`` starts with that id. SendGrid has no idempotency key: the hub
remembers keys itself (the provider does not declare ``idempotency``).

``send_many`` packs messages that differ only in their personalization (recipients, subject,
headers, metadata, send time, template data) into one request, up to 1,000 recipients each;
other messages go one request each. A receipt of a request that carried several messages gets
``provider_id = "<X-Message-Id>#<n>"``, n being its personalization's position.
"""

from __future__ import annotations

import json.encoder
from collections.abc import Iterator, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import TypeAdapter

from hub.capabilities._batch import gc_paused, prepare_each, send_chunks
from hub.capabilities.email import Address, EmailMessage, EmailReceipt
from hub.errors import HubError
from hub.http import JSON_ENCODER, HttpProvider
from hub_sendgrid.mapping import MAX_RECIPIENTS, MailParts, hub_field, mail_body, split_message
from hub_sendgrid.settings import SendGridSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub.capabilities._email_bulk import BulkRecipient

__all__ = ["SendGridEmailProvider"]

_PATH = "/v3/mail/send"
_JSON = JSON_ENCODER  # how hub.http encodes json= bodies, for the bulk body assembled as text
_quote = json.encoder.encode_basestring  # a JSON string literal, as _JSON writes one
_JSON_TYPE = {"Content-Type": "application/json"}
_MESSAGE_LIMIT = 500
Chunk = list[tuple[int, MailParts]]


class SendGridEmailProvider(HttpProvider):
    """The ``sendgrid`` email provider."""

    base_url = "https://api.sendgrid.com"
    idempotency_header = None  # SendGrid has none; the hub's guard remembers keys

    def __init__(self, settings: SendGridSettings, context: ProviderContext) -> None:
        key = settings.require_api_key()
        super().__init__(
            context,
            base_url=settings.base_url,
            headers={"Authorization": f"Bearer {key}"},
            secrets=[key],
        )

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
        parts = split_message(message, provider=self.name)
        return (await self._post([parts], [message], [idempotency_key]))[0]

    async def send_many(
        self, messages: Sequence[EmailMessage], *, idempotency_keys: Sequence[str]
    ) -> list[EmailReceipt | HubError]:
        """One result per message; a failed request fails only the messages it carried
        (until one succeeded, see :func:`hub.capabilities._batch.send_chunks`)."""
        ready, refused = prepare_each(messages, partial(split_message, provider=self.name))

        async def post(chunk: Sequence[tuple[int, MailParts]]) -> list[EmailReceipt]:
            indexes = [index for index, _ in chunk]
            return await self._post(
                [parts for _, parts in chunk],
                [messages[i] for i in indexes],
                [idempotency_keys[i] for i in indexes],
            )

        with gc_paused():  # grouping 10,000 messages allocates a tuple each, all kept
            chunks = list(_chunks(ready))
        return await send_chunks(chunks, post, refused=refused)

    async def send_bulk(
        self,
        message: EmailMessage,
        recipients: Sequence[BulkRecipient],
        *,
        idempotency_key: str,
        concurrency: int,
    ) -> list[EmailReceipt | HubError]:
        """A copy per recipient: one personalization each, up to 1,000 per request.

        All of a request's recipients share its receipt (``provider_id`` is its X-Message-Id,
        which their event webhooks carry).
        """
        first = recipients[0]
        stand_in = message.model_copy(update={"to": [Address(email=first.email)]})
        parts = split_message(stand_in, provider=self.name)
        base = {k: v for k, v in parts.personalization.items() if k != "to"}
        # The body is assembled as JSON text: the shared part and the personalization's common
        # fields are encoded once, an address-only recipient is one string (no dicts to build,
        # encode and collect: most of a bulk send's per-recipient cost).
        head = _JSON.encode(parts.shared)[:-1] + ',"personalizations":['
        tail = "," + _JSON.encode(base)[1:-1] if base else ""
        numbered = list(enumerate(recipients))
        chunks = [
            numbered[start : start + MAX_RECIPIENTS]
            for start in range(0, len(numbered), MAX_RECIPIENTS)
        ]

        def personalization(recipient: BulkRecipient) -> str:
            if recipient.name or recipient.template_data or recipient.metadata:
                return _JSON.encode(_personalization(base, recipient))
            return '{"to":[{"email":' + _quote(recipient.email) + "}]" + tail + "}"

        async def post(chunk: Sequence[tuple[int, BulkRecipient]]) -> list[EmailReceipt]:
            body = head + ",".join([personalization(r) for _, r in chunk]) + "]}"
            response = await self.request(
                "POST", _PATH, content=body.encode(), headers=_JSON_TYPE, expected=(200, 202)
            )
            message_id = response.headers.get("x-message-id")
            with gc_paused():
                # Validated from plain dicts: pydantic builds the 1,000 recipient results in one
                # pass, a third quicker than a RecipientResult(...) call each.
                receipt = EmailReceipt.model_validate(
                    {
                        "provider": self.name,
                        "provider_id": message_id,
                        "idempotency_key": f"{idempotency_key}.{chunk[0][0] // MAX_RECIPIENTS}",
                        "recipients": [{"email": r.email, "status": "queued"} for _, r in chunk],
                        "raw": {"status": response.status_code, "x_message_id": message_id},
                    }
                )
            return [receipt] * len(chunk)

        return await send_chunks(chunks, post, concurrency=concurrency)

    async def _post(
        self, parts: list[MailParts], messages: list[EmailMessage], keys: list[str]
    ) -> list[EmailReceipt]:
        response = await self.request("POST", _PATH, json=mail_body(parts), expected=(200, 202))
        message_id = response.headers.get("x-message-id")
        several = len(messages) > 1 and message_id is not None
        with gc_paused():  # up to 1,000 receipts that all live on
            return self._receipts(messages, keys, response.status_code, message_id, several)

    def _receipts(
        self,
        messages: list[EmailMessage],
        keys: list[str],
        status: int,
        message_id: str | None,
        several: bool,
    ) -> list[EmailReceipt]:
        # Plain dicts validated in one pydantic pass: a quarter quicker than a model call
        # per receipt and per recipient, for up to 1,000 receipts a request.
        return _receipts_adapter().validate_python(
            [
                {
                    "provider": self.name,
                    "provider_id": f"{message_id}#{n}" if several else message_id,
                    "idempotency_key": key,
                    "recipients": [
                        {"email": address.email, "status": "queued"}
                        for address in message.recipients
                    ],
                    "raw": {"status": status, "x_message_id": message_id, "personalization": n},
                }
                for n, (message, key) in enumerate(zip(messages, keys, strict=True))
            ]
        )

    # -- SendGrid's error body: {"errors": [{"message", "field", "help"}]} --------------------

    def error_message(self, response: httpx.Response) -> str:
        errors = response.json()["errors"]
        said = []
        for error in errors:
            text = str(error.get("message") or "").strip()
            if error.get("field"):
                text = f"{text} (field {error['field']})"
            if text:
                said.append(text)
        message = "; ".join(said)
        return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 3] + "..."

    def map_error(self, response: httpx.Response) -> HubError | None:
        status = response.status_code
        if status == 413:
            return self.invalid_request(
                response,
                field="attachments",
                hint="the request is too large (SendGrid accepts 30 MB, attachments included)",
            )
        if status == 400:
            return self.invalid_request(response, field=hub_field(_first_field(response)))
        return None  # 401/403 credentials, 429 with X-RateLimit-Reset, 5xx: the defaults


def _personalization(base: dict[str, Any], recipient: BulkRecipient) -> dict[str, Any]:
    """A bulk recipient's personalization: the message's, addressed to them, their data merged."""
    personalization = dict(base)
    if recipient.name:
        personalization["to"] = [{"email": recipient.email, "name": recipient.name}]
    else:
        personalization["to"] = [{"email": recipient.email}]
    if recipient.template_data:
        merged = {**base.get("dynamic_template_data", {}), **recipient.template_data}
        personalization["dynamic_template_data"] = merged
    if recipient.metadata:
        personalization["custom_args"] = {**base.get("custom_args", {}), **recipient.metadata}
    return personalization


def _first_field(response: httpx.Response) -> str | None:
    try:
        errors = response.json()["errors"]
        field = next((e["field"] for e in errors if e.get("field")), None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return field if isinstance(field, str) else None


@cache
def _receipts_adapter() -> TypeAdapter[list[EmailReceipt]]:
    """Built on first use: the plugin's import stays cheap."""
    return TypeAdapter(list[EmailReceipt])


def _chunks(ready: Chunk) -> Iterator[Chunk]:
    """Requests to make: messages grouped by shared body, ≤ 1,000 recipients each, and no
    address twice in one request (SendGrid refuses duplicates across personalizations)."""
    groups: dict[str, Chunk] = {}
    for index, parts in ready:
        groups.setdefault(parts.batch_key(), []).append((index, parts))
    for group in groups.values():
        chunk: Chunk = []
        count = 0
        seen: set[str] = set()
        for index, parts in group:
            if chunk and (count + parts.recipients > MAX_RECIPIENTS or parts.addresses & seen):
                yield chunk
                chunk, count, seen = [], 0, set()
            chunk.append((index, parts))
            count += parts.recipients
            seen |= parts.addresses
        if chunk:
            yield chunk
