"""The ``ses`` email provider: SES v2 ``SendEmail`` and ``SendBulkEmail`` through aiobotocore."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from hub.aws import AwsClient, error_of_kind
from hub.capabilities.email import EmailMessage, EmailReceipt, RecipientResult
from hub.errors import HubError, InvalidRequest
from hub_ses.bulk import (
    BULK_STATUS_KINDS,
    MAX_BULK_ENTRIES,
    bulk_entry,
    bulk_group_key,
    send_bulk_email_params,
)
from hub_ses.mapping import send_email_params

if TYPE_CHECKING:
    from types_aiobotocore_sesv2.client import SESV2Client

    from hub._runtime import ProviderContext
    from hub_ses.settings import SesSettings

__all__ = ["SesEmailProvider"]

Outcome = EmailReceipt | HubError


class SesEmailProvider:
    """Sends through Amazon SES v2; SES has no idempotency keys, so the hub remembers them."""

    def __init__(self, settings: SesSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.settings = settings
        self._aws = AwsClient("sesv2", settings, context)

    async def client(self) -> SESV2Client:
        """The aiobotocore SES v2 client, opened on first use (identities, templates, hooks)."""
        client: SESV2Client = await self._aws.get()
        return client

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
        params = send_email_params(message, self.settings)
        response = await self._aws.call("send_email", params)
        return self._receipt(message, idempotency_key, response["MessageId"], _raw(response))

    async def send_many(
        self, messages: Sequence[EmailMessage], *, idempotency_keys: Sequence[str]
    ) -> list[Outcome]:
        """SendBulkEmail for messages sharing a template and sender (50 per call), the rest
        as concurrent single sends; one outcome per message, in order."""
        outcomes: list[Outcome | None] = [None] * len(messages)
        groups: dict[str, list[int]] = {}
        for index, message in enumerate(messages):
            groups.setdefault(bulk_group_key(message) or f"single:{index}", []).append(index)
        limiter = anyio.CapacityLimiter(self.settings.max_concurrency)

        async def one(index: int) -> None:
            async with limiter:
                try:
                    outcomes[index] = await self.send(
                        messages[index], idempotency_key=idempotency_keys[index]
                    )
                except HubError as exc:
                    outcomes[index] = exc

        async def bulk(indexes: list[int]) -> None:
            async with limiter:
                await self._bulk(messages, idempotency_keys, indexes, outcomes)

        async with anyio.create_task_group() as group:
            for indexes in groups.values():
                if len(indexes) == 1:
                    group.start_soon(one, indexes[0])
                    continue
                for start in range(0, len(indexes), MAX_BULK_ENTRIES):
                    group.start_soon(bulk, indexes[start : start + MAX_BULK_ENTRIES])
        return [outcome for outcome in outcomes if outcome is not None]

    async def _bulk(
        self,
        messages: Sequence[EmailMessage],
        keys: Sequence[str],
        indexes: list[int],
        outcomes: list[Outcome | None],
    ) -> None:
        entries: list[dict[str, Any]] = []
        sent: list[int] = []
        for index in indexes:
            try:
                entries.append(bulk_entry(messages[index]))
                sent.append(index)
            except InvalidRequest as exc:
                outcomes[index] = exc
        if not sent:
            return
        try:
            params = send_bulk_email_params(messages[sent[0]], entries, self.settings)
            response = await self._aws.call("send_bulk_email", params)
        except HubError as exc:
            for index in sent:
                outcomes[index] = exc
            return
        results = response.get("BulkEmailEntryResults", [])
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        for position, index in enumerate(sent):
            result = results[position] if position < len(results) else {}
            raw = {**result, "RequestId": request_id}
            outcomes[index] = (
                self._receipt(messages[index], keys[index], result["MessageId"], raw)
                if result.get("Status") == "SUCCESS" and result.get("MessageId")
                else self._bulk_error(result, raw)
            )

    def _bulk_error(self, result: Mapping[str, Any], raw: Any) -> HubError:
        status = str(result.get("Status") or "MISSING")
        said = f": {result['Error']}" if result.get("Error") else ""
        return error_of_kind(
            BULK_STATUS_KINDS.get(status),
            f"{self.name}: send_bulk_email refused this message ({status}){said}",
            provider=self.name,
            code=status,
            raw=raw,
        )

    def _receipt(self, message: EmailMessage, key: str, message_id: str, raw: Any) -> EmailReceipt:
        # SES answers for the message as a whole: every recipient is queued until events say more.
        return EmailReceipt(
            provider=self.name,
            provider_id=message_id,
            idempotency_key=key,
            recipients=[
                RecipientResult(email=a.email, status="queued") for a in message.recipients
            ],
            raw=raw,
        )

    async def aclose(self) -> None:
        await self._aws.aclose()

    def __repr__(self) -> str:
        return f"<SesEmailProvider name={self.name!r} region={self.settings.region!r}>"


def _raw(response: Mapping[str, Any]) -> dict[str, Any]:
    """The answer without transport headers: the message id and AWS's request id."""
    meta = response.get("ResponseMetadata", {})
    raw = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if meta.get("RequestId"):
        raw["RequestId"] = meta["RequestId"]
    return raw
