"""Sending through SES v2 on moto's server: what goes over the wire and what moto receives."""

from __future__ import annotations

import base64
import email.policy
import json
import socket
from collections.abc import AsyncIterator, Iterator
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from hub_ses.provider import SesEmailProvider

from hub import Hub
from hub.capabilities.email import Attachment, EmailMessage
from hub.errors import (
    AuthenticationError,
    ConfigurationError,
    HubError,
    InvalidRequest,
    NotFound,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
)
from tests.plugins.ses._support import Recorder, aws_response, hook, hub_settings, moto_sent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ses_hub(moto_url: str) -> AsyncIterator[Hub]:
    async with Hub.from_settings(**hub_settings(moto_url, configuration_set="events")) as hub:
        yield hub


def provider(hub: Hub) -> SesEmailProvider:
    found = hub.email.get_provider("ses")
    assert isinstance(found, SesEmailProvider)
    return found


async def recorder_on(hub: Hub, operation: str, recorder: Recorder) -> None:
    hook(await provider(hub).client(), operation, recorder)


async def test_simple_send_reaches_moto_with_every_recipient(ses_hub: Hub) -> None:
    wire = Recorder()
    await recorder_on(ses_hub, "SendEmail", wire)
    receipt = await ses_hub.email.send(
        {
            "from": "Shop <shop@example.com>",
            "to": ["Ada <ada@example.com>"],
            "cc": ["grace@example.com"],
            "bcc": ["edsger@example.com"],
            "reply_to": ["help@example.com"],
            "subject": "Your order",
            "text": "Thanks!",
            "html": "<p>Thanks!</p>",
            "tags": ["receipt"],
            "metadata": {"order_id": "A-1001"},
        }
    )
    assert receipt.provider == "ses"
    assert [(r.email, r.status) for r in receipt.recipients] == [
        ("ada@example.com", "queued"),
        ("grace@example.com", "queued"),
        ("edsger@example.com", "queued"),
    ]
    assert receipt.raw["MessageId"] == receipt.provider_id
    sent = moto_sent(receipt.provider_id or "")
    assert sent.source == "Shop <shop@example.com>"
    assert sent.subject == "Your order"
    assert sent.destinations == {
        "ToAddresses": ["Ada <ada@example.com>"],
        "CcAddresses": ["grace@example.com"],
        "BccAddresses": ["edsger@example.com"],
    }
    (request,) = wire.requests  # what SES itself would have received
    assert request["ReplyToAddresses"] == ["help@example.com"]
    assert request["ConfigurationSetName"] == "events"
    assert request["EmailTags"] == [
        {"Name": "receipt", "Value": "true"},
        {"Name": "order_id", "Value": "A-1001"},
    ]
    assert request["Content"]["Simple"]["Body"]["Text"] == {"Data": "Thanks!", "Charset": "UTF-8"}
    assert wire.urls[0].endswith("/v2/email/outbound-emails")


async def test_attachments_go_as_raw_mime_that_moto_receives(ses_hub: Hub) -> None:
    wire = Recorder()
    await recorder_on(ses_hub, "SendEmail", wire)
    receipt = await ses_hub.email.send(
        EmailMessage.model_validate(
            {
                "from": "Zoë Shop <shop@example.com>",
                "to": ["Jürgen <j@example.com>"],
                "bcc": ["audit@example.com"],
                "subject": "Rechnung für Sie ✓",
                "text": "Anbei die Rechnung.",
                "html": '<p>Anbei <img src="cid:logo.png"></p>',
                "headers": {"X-Campaign": "spring"},
                "attachments": [
                    Attachment(filename="invoice.pdf", content=b"%PDF-1.4 fake"),
                    Attachment(filename="logo.png", content=b"\x89PNG\r\n", inline=True),
                ],
            }
        )
    )
    sent = moto_sent(receipt.provider_id or "")
    mime = BytesParser(policy=email.policy.default).parsebytes(sent.raw_data.encode())
    assert str(mime["From"]) == "Zoë Shop <shop@example.com>"
    assert str(mime["To"]) == "Jürgen <j@example.com>"
    assert mime["Subject"] == "Rechnung für Sie ✓"
    assert mime["X-Campaign"] == "spring"
    assert mime["Bcc"] is None
    parts = {p.get_content_type(): p for p in mime.walk() if not p.is_multipart()}
    assert parts["text/plain"].get_content().strip() == "Anbei die Rechnung."
    assert parts["application/pdf"].get_filename() == "invoice.pdf"
    assert parts["application/pdf"].get_content() == b"%PDF-1.4 fake"
    assert parts["image/png"]["Content-ID"] == "<logo.png>"
    (request,) = wire.requests
    assert "audit@example.com" in request["Destination"]["BccAddresses"]
    assert base64.b64decode(request["Content"]["Raw"]["Data"]) == sent.raw_data.encode()


async def test_unverified_sender_is_refused_by_ses_as_invalid(ses_hub: Hub) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ses_hub.email.send(
            {
                "from": "x@unverified.example.org",
                "to": "ada@example.com",
                "subject": "s",
                "text": "t",
            }
        )
    assert caught.value.vendor_code == "MessageRejected"
    assert caught.value.provider == "ses"
    assert "not verified" in str(caught.value)


async def test_template_send_carries_name_and_data(ses_hub: Hub) -> None:
    wire = Recorder(lambda body: aws_response(200, {"MessageId": "tmpl-0001"}))
    await recorder_on(ses_hub, "SendEmail", wire)
    receipt = await ses_hub.email.send(
        {
            "from": "shop@example.com",
            "to": "ada@example.com",
            "template_id": "order-shipped",
            "template_data": {"name": "Ada", "order": 1001},
        }
    )
    assert receipt.provider_id == "tmpl-0001"
    template = wire.requests[0]["Content"]["Template"]
    assert template["TemplateName"] == "order-shipped"
    assert json.loads(template["TemplateData"]) == {"name": "Ada", "order": 1001}


def _bulk_answer(body: dict[str, Any]) -> Any:
    results = []
    for entry in body["BulkEmailEntries"]:
        address = entry["Destination"]["ToAddresses"][0]
        if address.startswith("rejected"):
            results.append({"Status": "MESSAGE_REJECTED", "Error": "Email address is on the list"})
        else:
            results.append({"Status": "SUCCESS", "MessageId": "bulk-" + address.split("@")[0]})
    return aws_response(200, {"BulkEmailEntryResults": results})


async def test_send_many_with_one_template_uses_send_bulk_email_50_at_a_time(
    ses_hub: Hub,
) -> None:
    wire = Recorder(_bulk_answer)
    await recorder_on(ses_hub, "SendBulkEmail", wire)
    addresses = [f"user{n}@example.com" for n in range(120)]
    addresses[7] = "rejected7@example.com"
    messages = [
        {
            "from": "shop@example.com",
            "to": address,
            "template_id": "welcome",
            "template_data": {"n": n},
        }
        for n, address in enumerate(addresses)
    ]
    results = await ses_hub.email.send_many(messages)
    assert sorted(len(r["BulkEmailEntries"]) for r in wire.requests) == [20, 50, 50]
    assert all(r["DefaultContent"]["Template"]["TemplateName"] == "welcome" for r in wire.requests)
    assert [r.index for r in results] == list(range(120))
    ids = [r.receipt.provider_id if r.receipt else None for r in results]
    assert ids[0] == "bulk-user0"
    assert ids[119] == "bulk-user119"
    rejected = results[7].error
    assert isinstance(rejected, InvalidRequest)
    assert rejected.vendor_code == "MESSAGE_REJECTED"
    assert sum(r.ok for r in results) == 119
    data = [
        json.loads(e["ReplacementEmailContent"]["ReplacementTemplate"]["ReplacementTemplateData"])
        for r in wire.requests
        for e in r["BulkEmailEntries"]
    ]
    assert sorted(d["n"] for d in data) == list(range(120))


async def test_send_many_without_templates_sends_each_to_moto(ses_hub: Hub) -> None:
    messages = [
        {"from": "shop@example.com", "to": f"p{n}@example.com", "subject": f"#{n}", "text": "x"}
        for n in range(4)
    ]
    messages.append(
        {"from": "x@unverified.example.org", "to": "a@example.com", "subject": "s", "text": "t"}
    )
    results = await ses_hub.email.send_many(messages)
    for n, result in enumerate(results[:4]):
        assert result.receipt is not None
        assert moto_sent(result.receipt.provider_id or "").subject == f"#{n}"
    assert isinstance(results[4].error, InvalidRequest)


@pytest.mark.parametrize(
    ("status", "code", "error_type", "retryable", "failover_safe"),
    [
        (429, "TooManyRequestsException", RateLimited, True, True),
        (400, "LimitExceededException", RateLimited, True, True),
        (400, "MessageRejected", InvalidRequest, False, False),
        (400, "BadRequestException", InvalidRequest, False, False),
        (400, "AccountSuspendedException", ProviderError, False, True),
        (400, "SendingPausedException", ProviderError, False, True),
        (400, "MailFromDomainNotVerifiedException", ProviderError, False, True),
        (404, "NotFoundException", NotFound, False, False),
        (403, "UnrecognizedClientException", AuthenticationError, False, True),
        (500, "InternalFailure", Unavailable, True, False),
        (503, "ServiceUnavailable", Unavailable, True, True),
    ],
)
async def test_documented_errors_map_onto_the_error_tree(
    ses_hub: Hub,
    status: int,
    code: str,
    error_type: type[HubError],
    retryable: bool,
    failover_safe: bool,
) -> None:
    answer = aws_response(status, {"message": f"documented {code}"}, error_type=code)
    await recorder_on(ses_hub, "SendEmail", Recorder(lambda body: answer))
    with pytest.raises(HubError) as caught:
        await ses_hub.email.send(
            {"from": "shop@example.com", "to": "ada@example.com", "subject": "s", "text": "t"}
        )
    error = caught.value
    assert type(error) is error_type
    assert error.retryable is retryable
    assert error.failover_safe is failover_safe
    assert getattr(error, "vendor_code", None) == code
    assert f"documented {code}" in str(error)
    assert "moto-secret-not-real" not in repr(error) + str(error)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


MESSAGE = EmailMessage.model_validate(
    {"from": "shop@example.com", "to": "ada@example.com", "subject": "s", "text": "t"}
)


async def test_connection_refused_is_unavailable_and_safe_to_fail_over(moto_url: str) -> None:
    settings = hub_settings(moto_url, endpoint_url=f"http://127.0.0.1:{_closed_port()}")
    async with Hub.from_settings(**settings) as hub:
        with pytest.raises(Unavailable) as caught:
            await provider(hub).send(MESSAGE, idempotency_key="k1")
    assert caught.value.failover_safe is True
    assert caught.value.retryable is True


async def test_read_timeout_is_a_timeout_that_must_not_fail_over(
    moto_url: str, silent_server: str
) -> None:
    settings = hub_settings(moto_url, endpoint_url=silent_server, http={"timeout": 0.3})
    async with Hub.from_settings(**settings) as hub:
        with pytest.raises(Timeout) as caught:
            await provider(hub).send(MESSAGE, idempotency_key="k1")
    assert caught.value.failover_safe is False


async def test_the_client_opens_on_first_send_and_closes_with_the_hub(moto_url: str) -> None:
    hub = Hub.from_settings(**hub_settings(moto_url))
    ses = provider(hub)
    assert "closed" in repr(ses._aws)
    await hub.email.send(MESSAGE)
    assert "open" in repr(ses._aws)
    await hub.aclose()
    assert "closed" in repr(ses._aws)


async def test_missing_region_is_a_configuration_error_saying_how(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    settings = hub_settings(moto_url)
    del settings["email"]["ses"]["region"]
    async with Hub.from_settings(**settings) as hub:
        with pytest.raises(ConfigurationError, match="AWS_REGION"):
            await hub.email.send(MESSAGE)
