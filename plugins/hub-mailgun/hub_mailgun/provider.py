"""The Mailgun email provider: the Messages API over the hub's HTTP layer.

Mailgun has no idempotency keys, so the hub remembers them (``EmailService.send`` asks it to).
``send_many`` puts messages that differ only in their recipient (and substitution data) into
recipient-variables batch sends of up to 1,000 recipients, and sends the others one by one,
a few at a time.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from hub.capabilities._batch import send_chunks
from hub.capabilities.email import EmailMessage, EmailReceipt
from hub.errors import HubError, NotFound, ProviderError
from hub.http import HttpProvider, parse_rate_limit
from hub_mailgun.mapping import Form, batch_form, batch_groups, message_form, receipt

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub_mailgun.settings import MailgunSettings

__all__ = ["MailgunProvider"]

#: Sends in flight at once within one ``send_many`` (after the first one went out).
_CONCURRENCY = 8
# "'to' parameter is not a valid address", "from parameter is missing" ...
_PARAMETER = re.compile(r"^\W*([a-z][\w:-]*)\W*\s+parameter", re.IGNORECASE)


class MailgunProvider(HttpProvider):
    """Sends through ``POST /v3/<domain>/messages`` with basic auth ``api:<key>``."""

    idempotency_header: ClassVar[str | None] = None

    def __init__(self, settings: MailgunSettings, context: ProviderContext) -> None:
        key = settings.api_key.get_secret_value()
        super().__init__(context, base_url=settings.api_root, auth=("api", key), secrets=[key])
        self.settings = settings
        self._path = f"{settings.domain}/messages"

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
        form = message_form(message, message.provider_options.get("mailgun"))
        body, raw = await self._post(form)
        return receipt(self.name, message, idempotency_key, body, **raw)

    async def send_many(
        self, messages: Sequence[EmailMessage], *, idempotency_keys: Sequence[str]
    ) -> list[EmailReceipt | HubError]:
        """One result per message; groups go a few at a time once one has gone (until then
        a retryable error is raised for the pipeline, see ``send_chunks``)."""

        async def post(group: Sequence[tuple[int, EmailMessage]]) -> list[EmailReceipt]:
            members = [message for _, message in group]
            options = members[0].provider_options.get("mailgun")
            form = (
                message_form(members[0], options)
                if len(members) == 1
                else batch_form(members, options)
            )
            body, raw = await self._post(form)
            return [
                receipt(
                    self.name,
                    message,
                    idempotency_keys[index],
                    body,
                    batch_size=len(members),
                    **raw,
                )
                for index, message in group
            ]

        groups = [[(i, messages[i]) for i in group] for group in batch_groups(messages)]
        return await send_chunks(groups, post, concurrency=_CONCURRENCY)

    async def _post(self, form: Form) -> tuple[dict[str, Any], dict[str, Any]]:
        if form.files:
            boundary = form.boundary()
            response = await self.request(
                "POST",
                self._path,
                data=form.data,
                files=form.files,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
        else:
            response = await self.request("POST", self._path, data=form.data)
        body = self.json_object(response)
        if not isinstance(body.get("id"), str):
            raise ProviderError(
                f"{self.name}: Mailgun answered HTTP {response.status_code} without a message "
                "id; the message may have been accepted, check the Mailgun logs",
                provider=self.name,
                status=response.status_code,
                retryable=False,
                failover_safe=False,
            )
        raw: dict[str, Any] = {}
        limits = parse_rate_limit(response.headers)
        if limits is not None:
            raw["rate_limit"] = dataclasses.asdict(limits)
        return body, raw

    # -- the error boundary -----------------------------------------------------------

    def map_error(self, response: httpx.Response) -> HubError | None:
        """Mailgun's documented statuses: 400 names a parameter, 402/404/413 say why."""
        status = response.status_code
        if status == 400:
            return self.invalid_request(response, field=_parameter(self.error_message(response)))
        if status == 413:
            return self.invalid_request(
                response,
                field="attachments",
                hint="Mailgun accepts at most 25 MB per message; send smaller attachments",
            )
        if status == 402:
            return self.provider_error(
                ProviderError,
                response,
                hint="the parameters were valid but Mailgun refused to send (account or domain "
                "state, billing); nothing was sent",
                retryable=False,
                failover_safe=True,
            )
        if status == 404:
            return self.provider_error(
                NotFound,
                response,
                hint=f"check the domain {self.settings.domain!r} and that it lives in the "
                f"{self.settings.region!r} region (setting `region`)",
                failover_safe=True,
            )
        return None


def _parameter(message: str) -> str | None:
    """The message field a Mailgun 400 names (``'to' parameter is not a valid address``)."""
    match = _PARAMETER.match(message)
    if match is None:
        return None
    name = match.group(1).lower()
    return {"h:reply-to": "reply_to", "o:tag": "tags", "template": "template_id"}.get(name, name)
