"""The ``sns`` SMS provider: Amazon SNS ``Publish`` to a phone number through aiobotocore.

SNS answers a publish with a ``MessageId`` only; whether the message reached the phone is
written to CloudWatch Logs (when delivery status logging is on), never sent back. So every
receipt is ``queued``, and ``segments`` is what the hub counts for the body. SNS has no
idempotency key for SMS: the hub remembers keys and answers a repeat with the first receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.aws import AwsClient
from hub.capabilities.sms import SmsMessage, SmsReceipt
from hub.errors import HubError, ProviderError
from hub_sns.errors import opted_out, refine
from hub_sns.mapping import publish_request

if TYPE_CHECKING:
    from types_aiobotocore_sns.client import SNSClient

    from hub._runtime import ProviderContext
    from hub_sns.settings import SnsSettings

__all__ = ["SnsSmsProvider"]


class SnsSmsProvider:
    """Sends each message with one ``Publish``; no batch API exists for phone numbers."""

    def __init__(self, settings: SnsSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.settings = settings
        self._aws = AwsClient("sns", settings, context)

    async def client(self) -> SNSClient:
        """The aiobotocore SNS client, opened on first use (account settings, test hooks)."""
        client: SNSClient = await self._aws.get()
        return client

    async def send(self, message: SmsMessage, *, idempotency_key: str) -> SmsReceipt:
        publish = publish_request(message, self.settings, provider=self.name)
        try:
            if self.settings.check_opt_out:
                await self._refuse_opted_out(message.to)
            response = await self._aws.call("publish", publish.params)
        except HubError as exc:
            refined = refine(exc, publish.fields, provider=self.name)
            if refined is exc:
                raise
            raise refined from exc
        return SmsReceipt(
            provider=self.name,
            provider_id=self._message_id(response),
            idempotency_key=idempotency_key,
            to=message.to,
            status="queued",
            segments=message.segments,
            raw=_raw(response),
        )

    async def _refuse_opted_out(self, number: str) -> None:
        answer = await self._aws.call("check_if_phone_number_is_opted_out", {"phoneNumber": number})
        if answer.get("isOptedOut"):
            raise opted_out(self.name, raw=_raw(answer))

    def _message_id(self, response: Mapping[str, Any]) -> str:
        message_id = response.get("MessageId")
        if not isinstance(message_id, str) or not message_id:
            raise ProviderError(
                f"{self.name}: publish answered without a MessageId; the message may have been "
                "sent, so it is neither retried nor failed over (the answer is in .raw)",
                provider=self.name,
                retryable=False,
                failover_safe=False,
                raw=_raw(response),
            )
        return message_id

    async def aclose(self) -> None:
        await self._aws.aclose()

    def __repr__(self) -> str:
        return f"<SnsSmsProvider name={self.name!r} region={self.settings.region!r}>"


def _raw(response: Mapping[str, Any]) -> dict[str, Any]:
    """The answer without transport headers, plus AWS's request id (for AWS support)."""
    raw = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    if request_id:
        raw["RequestId"] = request_id
    return raw
