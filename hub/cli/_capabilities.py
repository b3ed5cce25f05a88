"""``hub email|sms|payments|storage|search …``: one command per facade call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from hub.cli._console import command_group, open_hub, out

email_app = command_group(help="Send email.", no_args_is_help=True)
sms_app = command_group(help="Send SMS.", no_args_is_help=True)
payments_app = command_group(
    help="Charge, capture, refund and look up payments.", no_args_is_help=True
)
storage_app = command_group(help="Store, fetch, list and remove objects.", no_args_is_help=True)
search_app = command_group(help="Index documents and query them.", no_args_is_help=True)

PROVIDER = typer.Option(
    None, "--provider", "-p", help="use this provider instead of the configured one"
)


def register(app: typer.Typer) -> None:
    app.add_typer(email_app, name="email")
    app.add_typer(sms_app, name="sms")
    app.add_typer(payments_app, name="payments")
    app.add_typer(storage_app, name="storage")
    app.add_typer(search_app, name="search")


def _show(result: Any) -> None:
    """Print a receipt as JSON (the vendor's raw answer left out; `--raw` is for later)."""
    data = (
        result.model_dump(mode="json", exclude={"raw"}) if hasattr(result, "model_dump") else result
    )
    out.print_json(json.dumps(data, default=str))


def _run(fn: Any, *args: Any) -> None:
    from hub.cli import run

    run(fn, *args)


# -- email ------------------------------------------------------------------------------------


@email_app.command("send")
def email_send(
    to: list[str] = typer.Option(..., "--to", help="recipient; repeat for several"),
    subject: str = typer.Option("", "--subject", "-s"),
    text: str | None = typer.Option(None, "--text", help="plain-text body"),
    html: str | None = typer.Option(None, "--html", help="HTML body"),
    sender: str | None = typer.Option(None, "--from", help="sender (default: email.default_from)"),
    cc: list[str] = typer.Option([], "--cc"),
    bcc: list[str] = typer.Option([], "--bcc"),
    attach: list[Path] = typer.Option([], "--attach", help="file to attach; repeat for several"),
    tag: list[str] = typer.Option([], "--tag"),
    provider: str | None = PROVIDER,
) -> None:
    """Send one email."""

    async def send() -> None:
        from hub.capabilities.email import Attachment

        attachments = [await Attachment.from_path(path) for path in attach]
        fields: dict[str, Any] = {
            "to": to,
            "cc": cc,
            "bcc": bcc,
            "subject": subject,
            "text": text,
            "html": html,
            "attachments": attachments,
            "tags": tag,
        }
        if sender:
            fields["from"] = sender
        async with open_hub("email", provider) as hub:
            _show(await hub.email.send(fields))

    _run(send)


@email_app.command("send-bulk")
def email_send_bulk(
    recipients: str = typer.Option(
        ...,
        "--recipients",
        "-r",
        help="file with one address per line ('-': standard input); blank lines and # skipped",
    ),
    subject: str = typer.Option("", "--subject", "-s"),
    text: str | None = typer.Option(None, "--text", help="plain-text body"),
    html: str | None = typer.Option(None, "--html", help="HTML body"),
    sender: str | None = typer.Option(None, "--from", help="sender (default: email.default_from)"),
    template_id: str | None = typer.Option(None, "--template-id"),
    tag: list[str] = typer.Option([], "--tag"),
    key: str | None = typer.Option(
        None, "--idempotency-key", help="makes the whole send safe to run again"
    ),
    provider: str | None = PROVIDER,
) -> None:
    """Send one message to each recipient separately (exit 1 if any failed)."""
    addresses = _addresses(recipients)

    async def send() -> None:
        fields: dict[str, Any] = {"subject": subject, "text": text, "html": html, "tags": tag}
        if sender:
            fields["from"] = sender
        if template_id:
            fields["template_id"] = template_id
        async with open_hub("email", provider) as hub:
            result = await hub.email.send_bulk(fields, recipients=addresses, idempotency_key=key)
        summary = {
            "sent": result.sent,
            "requests": [receipt.provider_message_id for receipt in result.receipts],
            "failures": [failure.model_dump() for failure in result.failures],
        }
        out.print_json(json.dumps(summary))
        if result.failures:
            raise typer.Exit(1)

    _run(send)


def _addresses(source: str) -> list[str]:
    """The addresses of a recipients file (or standard input), one per line."""
    import sys

    if source == "-":
        lines = sys.stdin.read().splitlines()
    else:
        path = Path(source)
        if not path.is_file():
            raise typer.BadParameter(
                f"{source} is not a file; give a file with one address per line, or - for "
                "standard input",
                param_hint="--recipients",
            )
        lines = path.read_text(encoding="utf-8").splitlines()
    found = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not found:
        raise typer.BadParameter(f"{source} holds no address", param_hint="--recipients")
    return found


# -- sms --------------------------------------------------------------------------------------


@sms_app.command("send")
def sms_send(
    to: str = typer.Option(..., "--to", help="E.164 number, e.g. +14155550100"),
    body: str = typer.Option(..., "--body", "-b"),
    sender: str | None = typer.Option(None, "--from", help="sender number or id"),
    provider: str | None = PROVIDER,
) -> None:
    """Send one SMS."""

    async def send() -> None:
        async with open_hub("sms", provider) as hub:
            _show(await hub.sms.send(to, body, sender=sender))

    _run(send)


# -- payments ---------------------------------------------------------------------------------


def _money(amount: int | None, currency: str | None) -> Any:
    from hub.capabilities.payments import Money

    if amount is None:
        return None
    if currency is None:
        raise typer.BadParameter("--currency is required with --amount")
    return Money(amount, currency)


@payments_app.command("charge")
def payments_charge(
    amount: int = typer.Option(..., "--amount", help="in minor units: 1999 = 19.99"),
    currency: str = typer.Option(..., "--currency", help="ISO 4217, e.g. EUR"),
    customer: str | None = typer.Option(None, "--customer"),
    payment_method: str | None = typer.Option(None, "--payment-method"),
    authorize_only: bool = typer.Option(False, "--authorize-only", help="capture later"),
    description: str | None = typer.Option(None, "--description"),
    idempotency_key: str | None = typer.Option(None, "--idempotency-key"),
    provider: str | None = PROVIDER,
) -> None:
    """Charge (or only authorize) an amount."""

    async def charge() -> None:
        async with open_hub("payments", provider) as hub:
            _show(
                await hub.payments.charge(
                    _money(amount, currency),
                    customer=customer,
                    payment_method=payment_method,
                    capture=not authorize_only,
                    description=description,
                    idempotency_key=idempotency_key,
                )
            )

    _run(charge)


@payments_app.command("capture")
def payments_capture(
    payment_id: str,
    amount: int | None = typer.Option(None, "--amount", help="partial capture, minor units"),
    currency: str | None = typer.Option(None, "--currency"),
    provider: str | None = PROVIDER,
) -> None:
    """Capture an authorized payment, fully or partly."""

    async def capture() -> None:
        async with open_hub("payments", provider) as hub:
            _show(await hub.payments.capture(payment_id, _money(amount, currency)))

    _run(capture)


@payments_app.command("refund")
def payments_refund(
    payment_id: str,
    amount: int | None = typer.Option(None, "--amount", help="partial refund, minor units"),
    currency: str | None = typer.Option(None, "--currency"),
    provider: str | None = PROVIDER,
) -> None:
    """Refund a captured payment, fully or partly."""

    async def refund() -> None:
        async with open_hub("payments", provider) as hub:
            _show(await hub.payments.refund(payment_id, _money(amount, currency)))

    _run(refund)


@payments_app.command("cancel")
def payments_cancel(payment_id: str, provider: str | None = PROVIDER) -> None:
    """Cancel an authorized payment before capture."""

    async def cancel() -> None:
        async with open_hub("payments", provider) as hub:
            _show(await hub.payments.cancel(payment_id))

    _run(cancel)


@payments_app.command("get")
def payments_get(payment_id: str, provider: str | None = PROVIDER) -> None:
    """Show a payment."""

    async def get() -> None:
        async with open_hub("payments", provider) as hub:
            _show(await hub.payments.get(payment_id))

    _run(get)


# -- storage ----------------------------------------------------------------------------------


@storage_app.command("put")
def storage_put(
    key: str,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="file to upload"),
    content_type: str | None = typer.Option(None, "--content-type"),
    meta: list[str] = typer.Option([], "--meta", help="metadata as name=value; repeatable"),
    provider: str | None = PROVIDER,
) -> None:
    """Upload a file (streamed, with a progress bar)."""
    from hub.cli._progress import read_with_progress

    metadata = dict(item.split("=", 1) for item in meta if "=" in item)

    async def put() -> None:
        async with open_hub("storage", provider) as hub:
            chunks = read_with_progress(path)
            _show(await hub.storage.put(key, chunks, content_type=content_type, metadata=metadata))

    _run(put)


@storage_app.command("get")
def storage_get(
    key: str,
    output: Path = typer.Option(..., "--output", "-o", help="where to write the object"),
    provider: str | None = PROVIDER,
) -> None:
    """Download an object (streamed, with a progress bar)."""
    from hub.cli._progress import write_with_progress

    async def get() -> None:
        async with open_hub("storage", provider) as hub:
            info = await hub.storage.head(key)
            await write_with_progress(hub.storage.stream(key), output, total=info.size)
            out.print(f"wrote {info.size} bytes to {output}")

    _run(get)


@storage_app.command("ls")
def storage_ls(prefix: str = typer.Argument(""), provider: str | None = PROVIDER) -> None:
    """List objects under a prefix."""
    from rich.table import Table

    async def ls() -> None:
        table = Table()
        for column in ("key", "size", "content type", "modified"):
            table.add_column(column)
        async with open_hub("storage", provider) as hub:
            async for info in hub.storage.list(prefix):
                table.add_row(
                    info.key, str(info.size), info.content_type or "", str(info.last_modified or "")
                )
        out.print(table)

    _run(ls)


@storage_app.command("rm")
def storage_rm(key: str, provider: str | None = PROVIDER) -> None:
    """Delete an object (deleting a missing object is not an error)."""

    async def rm() -> None:
        async with open_hub("storage", provider) as hub:
            await hub.storage.delete(key)
            out.print(f"deleted {key}")

    _run(rm)


@storage_app.command("url")
def storage_url(
    key: str,
    expires_in: float = typer.Option(3600, "--expires-in", help="seconds"),
    method: str = typer.Option("GET", "--method", help="GET or PUT"),
    provider: str | None = PROVIDER,
) -> None:
    """Print an expiring URL for an object."""

    async def url() -> None:
        async with open_hub("storage", provider) as hub:
            verb = method.upper()
            if verb == "GET":
                typer.echo(await hub.storage.url(key, expires_in=expires_in, method="GET"))
            elif verb == "PUT":
                typer.echo(await hub.storage.url(key, expires_in=expires_in, method="PUT"))
            else:
                raise typer.BadParameter("--method must be GET or PUT")

    _run(url)


# -- search -----------------------------------------------------------------------------------


@search_app.command("index")
def search_index(
    name: str,
    path: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="JSON array or JSON-lines file of documents with an id",
    ),
    searchable: list[str] = typer.Option([], "--searchable", help="field to search; repeatable"),
    filterable: list[str] = typer.Option([], "--filterable", help="field to filter; repeatable"),
    provider: str | None = PROVIDER,
) -> None:
    """Create the index if needed and index the documents of a file."""
    text = path.read_text(encoding="utf-8")
    documents = (
        json.loads(text)
        if text.lstrip().startswith("[")
        else [json.loads(line) for line in text.splitlines() if line.strip()]
    )

    async def index() -> None:
        async with open_hub("search", provider) as hub:
            fields = searchable or sorted(
                {k for d in documents for k, v in d.items() if isinstance(v, str) and k != "id"}
            )
            await hub.search.ensure_index(name, searchable=fields, filterable=filterable)
            _show(await hub.search.index(name, documents))

    _run(index)


@search_app.command("query")
def search_query(
    name: str,
    query: str,
    filter_: list[str] = typer.Option([], "--filter", help="field=value; repeatable"),
    limit: int = typer.Option(10, "--limit"),
    offset: int = typer.Option(0, "--offset"),
    provider: str | None = PROVIDER,
) -> None:
    """Search an index."""
    from rich.table import Table

    filters = dict(item.split("=", 1) for item in filter_ if "=" in item)

    async def search() -> None:
        async with open_hub("search", provider) as hub:
            results = await hub.search.search(
                name, query, filters=filters or None, limit=limit, offset=offset
            )
        table = Table(title=f"{results.total} hit(s) from {results.provider}")
        for column in ("id", "score", "document"):
            table.add_column(column, overflow="fold")
        for hit in results.hits:
            table.add_row(str(hit.id), f"{hit.score:.3f}", json.dumps(hit.document)[:200])
        out.print(table)

    _run(search)
