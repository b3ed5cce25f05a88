"""The EmailMessage -> SES v2 parameters mapping, and every field SES cannot express."""

from __future__ import annotations

import base64
import email.policy
import json
from email.parser import BytesParser
from typing import Any

import pytest
from hub_ses.bulk import bulk_entry, bulk_group_key, send_bulk_email_params
from hub_ses.mapping import raw_mime, send_email_params
from hub_ses.settings import SesSettings

from hub.capabilities.email import Attachment, EmailMessage
from hub.errors import InvalidRequest

SETTINGS = SesSettings(region="eu-west-1")


def message(**fields: Any) -> EmailMessage:
    data: dict[str, Any] = {
        "from": "Shop <shop@example.com>",
        "to": ["ada@example.com"],
        "subject": "Your order",
        "text": "Thanks!",
        **fields,
    }
    return EmailMessage.model_validate(data)


def test_simple_message_maps_every_field() -> None:
    msg = message(
        to=["Ada Lovelace <ada@example.com>"],
        cc=["grace@example.com"],
        bcc=["edsger@example.com"],
        reply_to=["Support <help@example.com>"],
        html="<p>Thanks!</p>",
        tags=["receipt", "eu-shop"],
        metadata={"order_id": "A-1001"},
    )
    settings = SesSettings(
        region="eu-west-1",
        configuration_set="events",
        from_arn="arn:aws:ses:eu-west-1:123456789012:identity/example.com",
    )
    assert send_email_params(msg, settings) == {
        "FromEmailAddress": "Shop <shop@example.com>",
        "Destination": {
            "ToAddresses": ["Ada Lovelace <ada@example.com>"],
            "CcAddresses": ["grace@example.com"],
            "BccAddresses": ["edsger@example.com"],
        },
        "ReplyToAddresses": ["Support <help@example.com>"],
        "Content": {
            "Simple": {
                "Subject": {"Data": "Your order", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "Thanks!", "Charset": "UTF-8"},
                    "Html": {"Data": "<p>Thanks!</p>", "Charset": "UTF-8"},
                },
            }
        },
        "EmailTags": [
            {"Name": "receipt", "Value": "true"},
            {"Name": "eu-shop", "Value": "true"},
            {"Name": "order_id", "Value": "A-1001"},
        ],
        "ConfigurationSetName": "events",
        "FromEmailAddressIdentityArn": "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
    }


def test_unicode_display_names_are_encoded_and_idn_domains_punycoded() -> None:
    msg = message(**{"from": "Zoë <z@example.com>"}, to=["Jürgen <j@bücher.example>"])
    params = send_email_params(msg, SETTINGS)
    assert params["FromEmailAddress"] == "=?utf-8?q?Zo=C3=AB?= <z@example.com>"
    assert params["Destination"]["ToAddresses"] == [
        "=?utf-8?q?J=C3=BCrgen?= <j@xn--bcher-kva.example>"
    ]


def test_non_ascii_local_part_is_refused_naming_the_field() -> None:
    msg = message(cc=["ok@example.com", "jürgen@example.com"])
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(msg, SETTINGS)
    assert caught.value.field == "cc[1]"
    assert "SMTPUTF8" in str(caught.value)


def test_attachments_and_headers_go_as_seven_bit_raw_mime() -> None:
    msg = message(
        subject="Grüße ✓",
        text="Hällo",
        html='<p>Hällo <img src="cid:logo.png"></p>',
        bcc=["secret@example.com"],
        headers={"X-Campaign": "spring"},
        attachments=[
            Attachment(filename="report.csv", content=b"id,total\n1,19.99\n"),
            Attachment(filename="logo.png", content=b"\x89PNG\r\n", inline=True),
        ],
    )
    params = send_email_params(msg, SETTINGS)
    data = params["Content"]["Raw"]["Data"]
    assert all(byte < 128 for byte in data), "SES needs 7-bit MIME"
    assert params["Destination"]["BccAddresses"] == ["secret@example.com"]
    mime = BytesParser(policy=email.policy.default).parsebytes(data)
    assert mime["Subject"] == "Grüße ✓"
    assert mime["X-Campaign"] == "spring"
    assert mime["Bcc"] is None, "Bcc must not leak into the headers"
    parts = {part.get_content_type(): part for part in mime.walk() if not part.is_multipart()}
    assert parts["text/plain"].get_content().strip() == "Hällo"
    assert "Hällo" in parts["text/html"].get_content()
    assert parts["text/csv"].get_filename() == "report.csv"
    assert parts["text/csv"].get_content() == "id,total\n1,19.99\n"
    assert parts["image/png"]["Content-ID"] == "<logo.png>"
    assert parts["image/png"].get_content() == b"\x89PNG\r\n"


def test_template_maps_name_data_headers_and_attachments() -> None:
    msg = message(
        subject="",
        text=None,
        template_id="welcome",
        template_data={"name": "Ada", "items": [1, 2]},
        headers={"X-Campaign": "spring"},
        attachments=[Attachment(filename="terms.pdf", content=b"%PDF")],
    )
    template = send_email_params(msg, SETTINGS)["Content"]["Template"]
    assert template["TemplateName"] == "welcome"
    assert json.loads(template["TemplateData"]) == {"name": "Ada", "items": [1, 2]}
    assert template["Headers"] == [{"Name": "X-Campaign", "Value": "spring"}]
    assert template["Attachments"] == [
        {
            "RawContent": b"%PDF",
            "FileName": "terms.pdf",
            "ContentType": "application/pdf",
            "ContentDisposition": "ATTACHMENT",
        }
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "body"}, "text"),
        ({"text": None, "html": "<p>x</p>"}, "html"),
        ({"text": None, "subject": "Hello"}, "subject"),
    ],
)
def test_template_refuses_content_it_would_drop(fields: dict[str, Any], field: str) -> None:
    msg = message(**{"subject": "", "template_id": "welcome", **fields})
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(msg, SETTINGS)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tags": ["ok", "has space"]}, "tags[1]"),
        ({"tags": ["ünïcode"]}, "tags[0]"),
        ({"metadata": {"order id": "1"}}, "metadata.order id"),
        ({"metadata": {"order": "A/1"}}, "metadata.order"),
        ({"metadata": {"k": "v" * 257}}, "metadata.k"),
        ({"tags": ["dup"], "metadata": {"dup": "x"}}, "metadata.dup"),
    ],
)
def test_tags_and_metadata_follow_ses_tag_rules(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(message(**fields), SETTINGS)
    assert caught.value.field == field
    assert "ASCII letters" in str(caught.value) or "unique" in str(caught.value)


def test_provider_options_pass_known_keys_and_refuse_others() -> None:
    options = {"ListManagementOptions": {"ContactListName": "news"}, "TenantName": "t1"}
    params = send_email_params(message(provider_options={"ses": options}), SETTINGS)
    assert params["ListManagementOptions"] == {"ContactListName": "news"}
    assert params["TenantName"] == "t1"
    # another vendor's options are that vendor's business
    send_email_params(message(provider_options={"sendgrid": {"asm": {}}}), SETTINGS)
    bad = message(provider_options={"ses": {"Destination": {}}})
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(bad, SETTINGS)
    assert caught.value.field == "provider_options.ses.Destination"


def test_limits_and_unsupported_fields_are_refused() -> None:
    many = [f"r{n}@example.com" for n in range(51)]
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(message(to=many), SETTINGS)
    assert caught.value.field == "to"
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(message(send_at="2030-01-01T00:00:00Z"), SETTINGS)
    assert caught.value.field == "send_at"
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(message(headers={"Subject": "again"}), SETTINGS)
    assert caught.value.field == "headers.Subject"
    huge = {"blob": "x" * 300_000}
    with pytest.raises(InvalidRequest) as caught:
        send_email_params(
            message(subject="", text=None, template_id="t", template_data=huge), SETTINGS
        )
    assert caught.value.field == "template_data"


def test_raw_mime_is_exactly_what_the_raw_content_carries() -> None:
    msg = message(attachments=[Attachment(filename="a.txt", content=b"a")])
    data = send_email_params(msg, SETTINGS)["Content"]["Raw"]["Data"]
    assert BytesParser().parsebytes(data)["From"] == "Shop <shop@example.com>"
    assert base64.b64encode(data)  # bytes: botocore base64-encodes them on the wire
    assert raw_mime(msg).split(b"\n", 1)[0] == data.split(b"\n", 1)[0]


def test_bulk_groups_share_template_and_sender_only() -> None:
    def templated(**fields: Any) -> EmailMessage:
        return message(**{"subject": "", "text": None, "template_id": "welcome", **fields})

    a = templated(to=["a@example.com"])
    b = templated(to=["b@example.com"], template_data={"name": "B"})
    other_sender = templated(**{"from": "other@example.com"})
    with_file = templated(attachments=[Attachment(filename="x.txt", content=b"x")])
    assert bulk_group_key(a) == bulk_group_key(b)
    assert bulk_group_key(other_sender) != bulk_group_key(a)
    assert bulk_group_key(with_file) is None
    assert bulk_group_key(message()) is None

    entries = [bulk_entry(a), bulk_entry(b.model_copy(update={"tags": ["vip"]}))]
    params = send_bulk_email_params(a, entries, SesSettings(configuration_set="events"))
    assert params == {
        "FromEmailAddress": "Shop <shop@example.com>",
        "DefaultContent": {"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
        "BulkEmailEntries": [
            {
                "Destination": {"ToAddresses": ["a@example.com"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": "{}"}
                },
            },
            {
                "Destination": {"ToAddresses": ["b@example.com"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": '{"name":"B"}'}
                },
                "ReplacementTags": [{"Name": "vip", "Value": "true"}],
            },
        ],
        "ConfigurationSetName": "events",
    }
