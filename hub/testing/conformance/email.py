"""The email contract: receipts, per-recipient statuses, batches, idempotency, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from hub.capabilities.email import Attachment, EmailMessage, EmailReceipt
from hub.errors import InvalidRequest
from hub.testing.conformance._base import ConformanceSuite, VendorCall

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["EmailConformance"]

_STATUSES = {"queued", "sent", "rejected", "invalid", "failed", "unknown"}
_ACCEPTED = {"queued", "sent", "unknown"}


class EmailConformance(ConformanceSuite):
    """Subclass with ``provider = "<name>"``; override the addresses for a sandbox that
    accepts only verified senders or recipients."""

    capability = "email"
    sender: ClassVar[str] = "Hub Conformance <conformance@example.com>"
    recipients: ClassVar[tuple[str, ...]] = (
        "ada@example.com",
        "grace@example.com",
        "edsger@example.com",
    )

    def message(self, **fields: Any) -> EmailMessage:
        """A valid message from :attr:`sender` to the first recipient, with ``fields`` on top."""
        data: dict[str, Any] = {
            "from": self.sender,
            "to": [self.recipients[0]],
            "subject": "Hub conformance",
            "text": "Sent by the hub's email conformance suite.",
            **fields,
        }
        return EmailMessage.model_validate(data)

    def check_receipt(self, receipt: EmailReceipt, message: EmailMessage) -> None:
        assert receipt.provider == self.provider, receipt
        assert receipt.provider_id, "the receipt must carry the vendor's message id"
        assert receipt.idempotency_key, "the receipt must carry the idempotency key"
        statuses = {result.email: result.status for result in receipt.recipients}
        wanted = [address.email for address in message.recipients]
        assert sorted(statuses) == sorted(wanted), (
            f"expected one status per recipient {wanted}, got {statuses}"
        )
        assert set(statuses.values()) <= _STATUSES, statuses
        assert set(statuses.values()) <= _ACCEPTED, (
            f"valid recipients must be accepted (queued/sent/unknown), got {statuses}"
        )

    async def test_send_returns_a_receipt_with_vendor_ids(self, provider_hub: Hub) -> None:
        message = self.message(to=[self.recipients[0]], cc=[self.recipients[1]])
        receipt = await provider_hub.email.send(message)
        self.check_receipt(receipt, message)

    async def test_every_recipient_gets_a_status(self, provider_hub: Hub) -> None:
        message = self.message(
            to=[self.recipients[0]], cc=[self.recipients[1]], bcc=[self.recipients[2]]
        )
        receipt = await provider_hub.email.send(message)
        self.check_receipt(receipt, message)

    async def test_html_only_message(self, provider_hub: Hub) -> None:
        message = self.message(text=None, html="<p>Sent by the <b>hub</b>.</p>")
        self.check_receipt(await provider_hub.email.send(message), message)

    async def test_attachment(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "attachments")
        attachment = Attachment(filename="report.csv", content=b"id,total\n1,19.99\n")
        message = self.message(attachments=[attachment])
        self.check_receipt(await provider_hub.email.send(message), message)

    async def test_idempotency_key_is_returned_and_honoured(self, provider_hub: Hub) -> None:
        message = self.message()
        first = await provider_hub.email.send(message, idempotency_key="conformance-email-1")
        assert first.idempotency_key == "conformance-email-1"
        again = await provider_hub.email.send(message, idempotency_key="conformance-email-1")
        assert again.provider_id == first.provider_id, (
            "repeating a send with the same idempotency key must return the first message, "
            "not send a second one"
        )
        other = await provider_hub.email.send(message)
        assert other.idempotency_key not in ("", "conformance-email-1")
        assert other.provider_id != first.provider_id

    async def test_send_many_returns_one_result_per_message(self, provider_hub: Hub) -> None:
        messages = [
            self.message(to=[address], subject=f"Batch {n}")
            for n, address in enumerate(self.recipients)
        ]
        await provider_hub.email.send(messages[0])  # a plain send first: clearer when it fails
        results = await provider_hub.email.send_many(messages)
        assert [r.index for r in results] == list(range(len(messages)))
        for result, message in zip(results, messages, strict=True):
            assert result.ok, f"message {result.index} failed: {result.error!r}"
            assert result.receipt is not None
            self.check_receipt(result.receipt, message)
        ids = [r.receipt.provider_id for r in results if r.receipt is not None]
        assert len(set(ids)) == len(ids), f"each message needs its own vendor id, got {ids}"

    @pytest.mark.parametrize(
        "fields",
        [
            {"to": []},
            {"to": ["not-an-address"]},
            {"text": None},
            {"subject": "two\nlines"},
        ],
        ids=["no-recipient", "bad-address", "no-body", "subject-line-break"],
    )
    async def test_invalid_input_raises_invalid_request(
        self, provider_hub: Hub, fields: dict[str, Any]
    ) -> None:
        data: dict[str, Any] = {
            "from": self.sender,
            "to": [self.recipients[0]],
            "subject": "Hub conformance",
            "text": "body",
            **fields,
        }
        with pytest.raises(InvalidRequest):
            await provider_hub.email.send(data)

    async def prepare_vendor_call(self, hub: Hub) -> VendorCall:
        message = self.message()
        return lambda: hub.email.send(message)
