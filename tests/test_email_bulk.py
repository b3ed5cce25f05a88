"""``hub.email.send_bulk`` on providers without the ``bulk`` feature (one message each) and
the checks every provider gets; SendGrid's packed requests are in tests/plugins/sendgrid."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from pathlib import Path

import pytest

import hub
from hub import BulkRecipient, InvalidRequest

pytestmark = pytest.mark.anyio

NEWS = {"subject": "Spring news", "text": "Hello"}


def delivered(h: hub.Hub) -> list[tuple[str, str]]:
    """(To, From) of each message sent, from the fake's outbox or the local .eml files."""
    out = []
    for item in h.email.outbox:
        if isinstance(item, Path):  # the local provider's outbox holds .eml paths
            parsed = email.message_from_bytes(item.read_bytes(), policy=email.policy.default)
            out.append((str(parsed["To"]), str(parsed["From"])))
        else:
            out.append((", ".join(str(a) for a in item.to), str(item.from_)))
    return out


async def test_each_recipient_gets_their_own_copy(h: hub.Hub) -> None:
    result = await h.email.send_bulk(
        subject="Spring news",
        text="Hello",
        recipients=["ada@example.com", "Grace Hopper <grace@example.com>"],
    )
    assert result.ok
    assert result.sent == 2
    assert sorted(delivered(h)) == [
        ("Grace Hopper <grace@example.com>", "Shop <shop@example.com>"),
        ("ada@example.com", "Shop <shop@example.com>"),
    ]
    carried = [r.email for receipt in result.receipts for r in receipt.recipients]
    assert carried == ["ada@example.com", "grace@example.com"]


async def test_recipient_data_is_merged_over_the_message(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(env="test", email={"default_from": "s@example.com"}) as h:
        await h.email.send_bulk(
            {**NEWS, "template_id": "news", "template_data": {"season": "spring"}},
            recipients=[
                BulkRecipient(
                    "ada@example.com", template_data={"name": "Ada"}, metadata={"u": "1"}
                ),
                {"email": "grace@example.com"},
            ],
        )
        ada, grace = h.email.outbox
    assert ada.template_data == {"season": "spring", "name": "Ada"}
    assert ada.metadata == {"u": "1"}
    assert grace.template_data == {"season": "spring"}


async def test_bad_recipients_fail_alone_and_are_reported_by_position(h: hub.Hub) -> None:
    result = await h.email.send_bulk(
        NEWS,
        recipients=["ada@example.com", "nope", "ADA@example.com", 42, "grace@example.com"],
    )
    assert result.sent == 2
    assert result.failed_indexes() == [1, 2, 3]
    assert {f.error_type for f in result.failures} == {"InvalidRequest"}
    assert "given twice" in result.failures[1].message
    assert "not int" in result.failures[2].message
    assert len(h.email.outbox) == 2


async def test_no_valid_recipient_sends_nothing(h: hub.Hub) -> None:
    result = await h.email.send_bulk(NEWS, recipients=["nope"])
    assert (result.sent, result.failed_indexes(), h.email.outbox) == (0, [0], [])


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({**NEWS, "to": "ada@example.com"}, "to"),
        ({**NEWS, "bcc": ["x@example.com"]}, "bcc"),
        ({"subject": "no body"}, None),
    ],
)
async def test_a_message_that_cannot_go_is_refused_before_anything_is_sent(
    h: hub.Hub, message: dict[str, object], field: str | None
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await h.email.send_bulk(message, recipients=["ada@example.com"])
    if field is not None:
        assert caught.value.field == field
        assert "recipients=" in str(caught.value)
    assert h.email.outbox == []


async def test_an_email_message_is_refused_with_the_way_to_pass_it(h: hub.Hub) -> None:
    message = hub.EmailMessage(to="ada@example.com", subject="s", text="t")
    with pytest.raises(InvalidRequest, match="keyword fields or a dict"):
        await h.email.send_bulk(message, recipients=["grace@example.com"])  # type: ignore[arg-type]


async def test_template_data_needs_a_template(h: hub.Hub) -> None:
    with pytest.raises(InvalidRequest, match="no template_id") as caught:
        await h.email.send_bulk(
            NEWS, recipients=[BulkRecipient("ada@example.com", template_data={"a": 1})]
        )
    assert caught.value.field == "template_id"


async def test_a_repeated_call_with_its_key_sends_nothing_twice(h: hub.Hub) -> None:
    recipients = ["ada@example.com", "grace@example.com"]
    await h.email.send_bulk(NEWS, recipients=recipients, idempotency_key="news-7")
    again = await h.email.send_bulk(NEWS, recipients=recipients, idempotency_key="news-7")
    assert again.sent == 2
    assert len(h.email.outbox) == 2


async def test_recipient_metadata_needs_a_provider_that_carries_it(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(env="test", email={"default_from": "s@example.com"}) as h:
        bound = h.email._providers[0]
        bound.spec = dataclasses.replace(bound.spec, features=bound.spec.features - {"metadata"})
        result = await h.email.send_bulk(
            NEWS, recipients=[BulkRecipient("ada@example.com", metadata={"u": "1"})]
        )
    assert [f.error_type for f in result.failures] == ["UnsupportedFeature"]
