"""One email, every email provider: the same call, only the settings change (issue 7).

Each case points the hub at one provider and at a local stand-in of its vendor: the fake and
local built-ins need none, SMTP talks to a real aiosmtpd server, Amazon SES to moto's server,
and SendGrid, Postmark and Mailgun to their documented-behaviour stand-ins (routed with
``override_transport``). What each vendor received is read back in the vendor's own terms and
compared with the message sent. A vendor plugin that is not installed is skipped with the
reason; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import email
import email.policy
import importlib.util
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from email.headerregistry import AddressHeader
from email.message import EmailMessage as MimeMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.capabilities.email import EmailMessage
from hub.core import Hub
from hub.http import override_transport
from tests.plugins.ses import conftest as ses_fixtures
from tests.plugins.smtp import conftest as smtp_fixtures

# The SMTP and SES plugins' own fixtures (a real aiosmtpd server, moto's server), reused here.
smtp_server = smtp_fixtures.smtp_server
moto_server = ses_fixtures.moto_server
moto_url = ses_fixtures.moto_url

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n\x00\xff trailer\n"
TEXT = "Hi Ada,\nyour order A-1001 has shipped. Zoë packed it with care.\n"
HTML = "<p>Hi Ada,</p>\n<p>your order <b>A-1001</b> has shipped. Zoë packed it with care.</p>\n"
# The one message every provider sends; `from` is @example.com, the domain verified in moto.
MESSAGE = EmailMessage.model_validate(
    {
        "from": "Boutique Zoë Café <shop@example.com>",
        "to": ["Ada Lovelace <ada@example.com>"],
        "cc": ["grace@example.com"],
        "reply_to": ["help@example.com"],
        "subject": "Your order has shipped — Zoë",
        "text": TEXT,
        "html": HTML,
        "attachments": [
            {"filename": "invoice-A-1001.pdf", "content": PDF, "content_type": "application/pdf"}
        ],
        "headers": {"X-Campaign": "spring-2024"},
        "tags": ["order-shipped"],
        "metadata": {"order_id": "A-1001"},
    }
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiobotocore (SES) runs on asyncio only


@dataclass(frozen=True)
class Seen:
    """A message as a vendor received it, decoded from the vendor's own wire format."""

    sender: tuple[str, str]  # (display name, address)
    recipients: list[str]  # who the vendor will deliver to (envelope / API recipients)
    to: list[str]
    cc: list[str]
    reply_to: list[str]
    subject: str
    text: str
    html: str
    attachments: list[tuple[str, str, bytes]]  # (filename, content type, bytes)
    campaign: str  # the custom X-Campaign header
    tags: list[str]
    metadata: dict[str, str]


#: What every vendor must have received for MESSAGE.
EXPECTED = Seen(
    sender=("Boutique Zoë Café", "shop@example.com"),
    recipients=["ada@example.com", "grace@example.com"],
    to=["ada@example.com"],
    cc=["grace@example.com"],
    reply_to=["help@example.com"],
    subject="Your order has shipped — Zoë",
    text=TEXT,
    html=HTML,
    attachments=[("invoice-A-1001.pdf", "application/pdf", PDF)],
    campaign="spring-2024",
    tags=["order-shipped"],
    metadata={"order_id": "A-1001"},
)


@dataclass
class Vendor:
    """A provider's settings section, its hub env, and how to read what its vendor received."""

    section: dict[str, Any]
    seen: Callable[[], list[Seen]]
    env: str = "test"
    #: Routes the hub's HTTP clients to the vendor's stand-in (HTTP APIs only).
    transport: httpx.MockTransport | None = None
    #: Runs on the built hub before the send (e.g. to watch a client's requests).
    prepare: Callable[[Hub], Awaitable[None]] | None = None


def _require(module: str, distribution: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{distribution} is not installed (plugins/{distribution} not built yet)")


def _crlf(text: str) -> str:
    """Line endings as written, whatever the wire used (SMTP and MIME use CRLF)."""
    return text.replace("\r\n", "\n")


def _emails(header: str | None) -> list[str]:
    return [address for _, address in getaddresses([header])] if header else []


def _addresses(mime: MimeMessage, name: str) -> list[str]:
    header = mime[name]
    if header is None:
        return []
    assert isinstance(header, AddressHeader)
    return [a.addr_spec for a in header.addresses]


def _body(mime: MimeMessage, subtype: str) -> str:
    part = mime.get_body((subtype,))
    assert isinstance(part, MimeMessage), f"no text/{subtype} part"
    return _crlf(part.get_content())


def from_mime(data: bytes, envelope: list[str] | None = None) -> Seen:
    """Seen from RFC 5322 bytes (local .eml, SMTP DATA, SES raw) and the envelope's recipients.

    Without an envelope (an .eml file) the recipients are those a mail client reads: To and Cc.
    """
    mime = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(mime, MimeMessage)
    sender = mime["From"]
    assert isinstance(sender, AddressHeader)
    attachments = []
    for part in mime.iter_attachments():
        assert isinstance(part, MimeMessage)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        attachments.append((part.get_filename() or "", part.get_content_type(), payload))
    to, cc = _addresses(mime, "To"), _addresses(mime, "Cc")
    return Seen(
        sender=(sender.addresses[0].display_name, sender.addresses[0].addr_spec),
        recipients=to + cc if envelope is None else envelope,
        to=to,
        cc=cc,
        reply_to=_addresses(mime, "Reply-To"),
        subject=str(mime["Subject"]),
        text=_body(mime, "plain"),
        html=_body(mime, "html"),
        attachments=attachments,
        campaign=str(mime["X-Campaign"]),
        tags=str(mime["X-Tags"]).split(", "),
        metadata=json.loads(str(mime["X-Metadata"])),
    )


# -- the vendors ------------------------------------------------------------------------------


def fake_vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    def seen() -> list[Seen]:
        return [
            Seen(
                sender=(m.from_.name or "", m.from_.email) if m.from_ else ("", ""),
                recipients=[a.email for a in m.recipients],
                to=[a.email for a in m.to],
                cc=[a.email for a in m.cc],
                reply_to=[a.email for a in m.reply_to],
                subject=m.subject,
                text=m.text or "",
                html=m.html or "",
                attachments=[(a.filename, a.content_type, a.content) for a in m.attachments],
                campaign=m.headers["X-Campaign"],
                tags=m.tags,
                metadata=m.metadata,
            )
            for m in built[0].email.outbox
        ]

    return Vendor({}, seen)


def local_vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    def seen() -> list[Seen]:
        outbox = sorted((tmp_path / "outbox").glob("*.eml"))
        return [from_mime(path.read_bytes()) for path in outbox]

    return Vendor({"announce": False}, seen, env="development")


def smtp_vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    _require("hub_smtp", "hub-smtp")
    server: smtp_fixtures.Server = request.getfixturevalue("smtp_server")()

    def seen() -> list[Seen]:
        found = []
        for received in server.received:
            assert received.mail_from == "shop@example.com"
            found.append(from_mime(received.content, received.rcpt_tos))
        return found

    return Vendor(server.settings(), seen)


def ses_vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    _require("hub_ses", "hub-ses")
    from hub_ses.provider import SesEmailProvider
    from moto.backends import get_backend

    from tests.plugins.ses._support import ACCOUNT, REGION, Recorder, hook, ses_section

    url: str = request.getfixturevalue("moto_url")
    # moto's backends live for the whole process (the SES tests send there too), so only the
    # messages stored after this point are this test's.
    backend = get_backend("ses")[ACCOUNT][REGION]
    earlier = {m.id for m in backend.sent_messages}
    wire = Recorder()

    async def prepare(hub: Hub) -> None:
        provider = hub.email.get_provider("ses")
        assert isinstance(provider, SesEmailProvider)
        hook(await provider.client(), "SendEmail", wire)

    def seen() -> list[Seen]:
        stored = [m for m in backend.sent_messages if m.id not in earlier]
        found = []
        for message, sent in zip(stored, wire.requests, strict=True):
            # moto keeps the raw MIME and the envelope but drops SES message tags (tags go
            # as {Name: tag, Value: "true"}, metadata as {Name: key, Value: value}), so those
            # are read from the request moto received.
            tags = sent.get("EmailTags", [])
            found.append(
                replace(
                    from_mime(message.raw_data.encode(), _bare(message.destinations)),
                    tags=[t["Name"] for t in tags if t["Value"] == "true"],
                    metadata={t["Name"]: t["Value"] for t in tags if t["Value"] != "true"},
                )
            )
        return found

    return Vendor(ses_section(url), seen, prepare=prepare)


def _bare(addresses: list[str]) -> list[str]:
    """Bare addresses, each once: moto adds the header recipients to the Destination it got."""
    return list(dict.fromkeys(address for _, address in getaddresses(addresses)))


def sendgrid_vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    _require("hub_sendgrid", "hub-sendgrid")
    from tests.plugins.sendgrid.conftest import API_KEY, FakeSendGrid

    fake = FakeSendGrid()

    def seen() -> list[Seen]:
        found = []
        for body in fake.bodies:
            [person] = body["personalizations"]
            content = {c["type"]: c["value"] for c in body["content"]}
            to = [a["email"] for a in person["to"]]
            cc = [a["email"] for a in person.get("cc", [])]
            found.append(
                Seen(
                    sender=(body["from"].get("name", ""), body["from"]["email"]),
                    recipients=to + cc,
                    to=to,
                    cc=cc,
                    reply_to=[a["email"] for a in body.get("reply_to_list", [])],
                    subject=person["subject"],
                    text=content["text/plain"],
                    html=content["text/html"],
                    attachments=[
                        (a["filename"], a["type"], base64.b64decode(a["content"]))
                        for a in body.get("attachments", [])
                    ],
                    campaign=person["headers"]["X-Campaign"],
                    tags=body.get("categories", []),
                    metadata=person.get("custom_args", {}),
                )
            )
        return found

    return Vendor({"api_key": API_KEY}, seen, transport=httpx.MockTransport(fake.handler))


def postmark_vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    _require("hub_postmark", "hub-postmark")
    from tests.plugins.postmark.conftest import TOKEN, FakePostmark

    fake = FakePostmark()

    def seen() -> list[Seen]:
        found = []
        for body in fake.bodies:
            [(name, sender)] = getaddresses([body["From"]])
            to, cc = _emails(body.get("To")), _emails(body.get("Cc"))
            found.append(
                Seen(
                    sender=(name, sender),
                    recipients=to + cc,
                    to=to,
                    cc=cc,
                    reply_to=_emails(body.get("ReplyTo")),
                    subject=body["Subject"],
                    text=body["TextBody"],
                    html=body["HtmlBody"],
                    attachments=[
                        (a["Name"], a["ContentType"], base64.b64decode(a["Content"]))
                        for a in body.get("Attachments", [])
                    ],
                    campaign={h["Name"]: h["Value"] for h in body["Headers"]}["X-Campaign"],
                    tags=[body["Tag"]] if "Tag" in body else [],
                    metadata=body.get("Metadata", {}),
                )
            )
        return found

    return Vendor({"server_token": TOKEN}, seen, transport=httpx.MockTransport(fake.handler))


def mailgun_vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    _require("hub_mailgun", "hub-mailgun")
    from tests.plugins.mailgun.conftest import API_KEY, DOMAIN, FakeMailgun

    fake = FakeMailgun()

    def seen() -> list[Seen]:
        found = []
        for form in fake.forms:
            [(name, sender)] = getaddresses([form.one("from")])
            to, cc = _emails(", ".join(form.all("to"))), _emails(", ".join(form.all("cc")))
            found.append(
                Seen(
                    sender=(name, sender),
                    recipients=to + cc,
                    to=to,
                    cc=cc,
                    reply_to=_emails(form.one("h:Reply-To")),
                    subject=form.one("subject"),
                    text=form.one("text"),
                    html=form.one("html"),
                    attachments=[
                        (f.filename, f.content_type, f.content)
                        for f in form.files
                        if f.name == "attachment"
                    ],
                    campaign=form.one("h:X-Campaign"),
                    tags=form.all("o:tag"),
                    metadata={k[2:]: v for k, v in form.fields if k.startswith("v:")},
                )
            )
        return found

    return Vendor(
        {"api_key": API_KEY, "domain": DOMAIN}, seen, transport=httpx.MockTransport(fake.handler)
    )


BUILDERS: dict[str, Callable[[pytest.FixtureRequest, Path, list[Hub]], Vendor]] = {
    "fake": fake_vendor,
    "local": local_vendor,
    "smtp": smtp_vendor,
    "sendgrid": sendgrid_vendor,
    "ses": ses_vendor,
    "mailgun": mailgun_vendor,
    "postmark": postmark_vendor,
}


@contextmanager
def routed(vendor: Vendor) -> Iterator[None]:
    """Send the hub's HTTP requests to the vendor's stand-in, if it is an HTTP API."""
    if vendor.transport is None:
        yield
        return
    with override_transport(vendor.transport):
        yield


@pytest.fixture
def built() -> list[Hub]:
    """Holds the test's hub once built, for vendors whose record lives in it (fake)."""
    return []


@pytest.fixture
def vendor(request: pytest.FixtureRequest, tmp_path: Path, built: list[Hub]) -> Vendor:
    name: str = request.param
    return BUILDERS[name](request, tmp_path, built)


@pytest.fixture
async def hub(
    request: pytest.FixtureRequest, vendor: Vendor, tmp_path: Path, built: list[Hub]
) -> AsyncIterator[Hub]:
    """A hub built from settings alone: the provider's name and its section, nothing else."""
    name = request.node.callspec.params["vendor"]
    settings: dict[str, Any] = {
        "env": vendor.env,
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "provider": name,
            name: vendor.section,
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        },
    }
    async with Hub.from_settings(**settings) as made:
        built.append(made)
        if vendor.prepare is not None:
            await vendor.prepare(made)
        yield made


@pytest.mark.anyio
@pytest.mark.parametrize("vendor", list(BUILDERS), indirect=True)
async def test_the_same_email_through_every_provider_by_settings_alone(
    request: pytest.FixtureRequest, vendor: Vendor, hub: Hub
) -> None:
    name = request.node.callspec.params["vendor"]
    with routed(vendor):
        # The application code: identical for every provider.
        receipt = await hub.email.send(MESSAGE, idempotency_key="swap-1")

    assert receipt.provider == name
    assert receipt.provider_id
    assert receipt.idempotency_key == "swap-1"
    assert [r.email for r in receipt.recipients] == ["ada@example.com", "grace@example.com"]
    assert {r.status for r in receipt.recipients} <= {"queued", "sent"}
    assert vendor.seen() == [EXPECTED]
