"""The SMS contract: receipts, E.164 numbers, billed segments, batches, idempotency, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pytest

from hub.capabilities.sms import SmsReceipt, count_segments
from hub.errors import InvalidRequest
from hub.testing.conformance._base import ConformanceSuite, VendorCall

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["SmsConformance"]

_STATUSES = {"queued", "sent", "delivered", "unknown"}


class SmsConformance(ConformanceSuite):
    """Subclass with ``provider = "<name>"``; override the numbers with the vendor's magic
    test numbers (Twilio: sender ``+15005550006``)."""

    capability = "sms"
    sender: ClassVar[str] = "+15005550006"
    #: Written with spaces and dashes on purpose: the hub normalizes them to E.164.
    recipients: ClassVar[tuple[str, ...]] = ("+1 415-555-0100", "+44 20 7946 0958", "+4930901820")

    def check_receipt(self, receipt: SmsReceipt, to: str, body: str) -> None:
        assert receipt.provider == self.provider, receipt
        assert receipt.provider_id, "the receipt must carry the vendor's message id"
        assert receipt.idempotency_key, "the receipt must carry the idempotency key"
        e164 = "+" + "".join(c for c in to if c.isdigit())
        assert receipt.to == e164, f"the receipt's number should be E.164 {e164!r}: {receipt.to!r}"
        assert receipt.status in _STATUSES, f"a sent message cannot be {receipt.status!r}"
        assert receipt.segments == count_segments(body), (
            f"a {len(body)}-character body is billed as {count_segments(body)} segment(s), the "
            f"receipt says {receipt.segments}"
        )

    async def test_send_returns_a_receipt_with_vendor_ids(self, provider_hub: Hub) -> None:
        body = "Sent by the hub's SMS conformance suite."
        receipt = await provider_hub.sms.send(self.recipients[0], body, self.sender)
        self.check_receipt(receipt, self.recipients[0], body)

    @pytest.mark.parametrize(
        "body",
        ["x" * 160, "x" * 161, "€" * 80, "ü" * 200, "é" * 70 + "🙂"],
        ids=["gsm-160", "gsm-161", "gsm-escapes", "ucs2-200", "ucs2-surrogate"],
    )
    async def test_segments_are_counted_like_the_networks_bill(
        self, provider_hub: Hub, body: str
    ) -> None:
        receipt = await provider_hub.sms.send(self.recipients[1], body, self.sender)
        self.check_receipt(receipt, self.recipients[1], body)

    async def test_idempotency_key_is_returned_and_honoured(self, provider_hub: Hub) -> None:
        to, body = self.recipients[0], "Your order has shipped."
        first = await provider_hub.sms.send(
            to, body, self.sender, idempotency_key="conformance-sms-1"
        )
        assert first.idempotency_key == "conformance-sms-1"
        again = await provider_hub.sms.send(
            to, body, self.sender, idempotency_key="conformance-sms-1"
        )
        assert again.provider_id == first.provider_id, (
            "repeating a send with the same idempotency key must return the first message"
        )

    async def test_send_many_returns_one_result_per_message(self, provider_hub: Hub) -> None:
        messages = [
            {"to": self.recipients[0], "body": "one", "sender": self.sender},
            {"to": "12345", "body": "not a number", "sender": self.sender},
            {"to": self.recipients[2], "body": "three", "sender": self.sender},
        ]
        await provider_hub.sms.send(messages[0])  # a plain send first: clearer when it fails
        results = await provider_hub.sms.send_many(messages)
        assert [r.index for r in results] == [0, 1, 2]
        assert isinstance(results[1].error, InvalidRequest), results[1]
        for index in (0, 2):
            result = results[index]
            assert result.receipt is not None, f"message {index}: {result.error!r}"
            message = messages[index]
            self.check_receipt(result.receipt, message["to"], message["body"])

    @pytest.mark.parametrize(
        ("to", "body"),
        [
            ("4155550100", "no plus"),
            ("+0123456789", "country code 0"),
            ("+1415555abcd", "letters"),
            ("+14155550100", ""),
            ("+14155550100", "   "),
        ],
        ids=["no-plus", "zero-country-code", "letters", "empty-body", "blank-body"],
    )
    async def test_invalid_input_raises_invalid_request(
        self, provider_hub: Hub, to: str, body: str
    ) -> None:
        with pytest.raises(InvalidRequest):
            await provider_hub.sms.send(to, body, self.sender)

    async def prepare_vendor_call(self, hub: Hub) -> VendorCall:
        return lambda: hub.sms.send(self.recipients[0], "vendor error check", self.sender)
