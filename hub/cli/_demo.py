"""``hub demo``: one real call per capability on the configured providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from hub.cli._console import out

if TYPE_CHECKING:
    from hub.core import Hub


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo() -> None:
    """Send an email and an SMS, charge and refund, store an object and search: print receipts."""
    from hub.cli import run

    run(_demo)


async def _demo() -> None:
    from rich.table import Table

    from hub.cli._console import open_hub

    async with open_hub() as hub:
        rows = [
            await _email(hub),
            await _sms(hub),
            *await _payments(hub),
            await _storage(hub),
            await _search(hub),
        ]
        table = Table(title=f"hub demo (HUB_ENV={hub.settings.env.value})")
        for column in ("capability", "operation", "provider", "vendor id", "result"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        out.print(table)
        if any(row[2] == "local" for row in rows):
            root = hub.settings.data_dir.resolve()
            out.print(
                f"Local artifacts are under [bold]{root}[/]: outbox/*.eml, sms.jsonl, "
                "payments.sqlite3, storage/, search.sqlite3"
            )


async def _email(hub: Hub) -> tuple[str, ...]:
    receipt = await hub.email.send(
        from_="Hub Demo <demo@example.com>",
        to="Ada Lovelace <ada@example.com>",
        subject="Hello from the hub",
        text="This message went through hub.email.send().",
        html="<p>This message went through <code>hub.email.send()</code>.</p>",
        tags=["demo"],
    )
    statuses = ", ".join(f"{r.email}: {r.status}" for r in receipt.recipients)
    return ("email", "send", receipt.provider, receipt.provider_id or "-", statuses)


async def _sms(hub: Hub) -> tuple[str, ...]:
    receipt = await hub.sms.send("+15555550100", "Hello from the hub", sender="+15555550199")
    return (
        "sms",
        "send",
        receipt.provider,
        receipt.provider_id or "-",
        f"{receipt.status}, {receipt.segments} segment(s)",
    )


async def _payments(hub: Hub) -> list[tuple[str, ...]]:
    from hub.capabilities.payments import Money

    payment = await hub.payments.charge(
        Money(1999, "EUR"), payment_method="pm_card_visa", description="hub demo"
    )
    refunded = await hub.payments.refund(payment.id, Money(500, "EUR"))
    return [
        (
            "payments",
            "charge",
            payment.provider,
            payment.provider_id or "-",
            f"{payment.status.value} {payment.money}",
        ),
        (
            "payments",
            "refund",
            refunded.provider,
            refunded.provider_id or "-",
            f"{refunded.payment.status.value}, refunded {refunded.amount} of {payment.amount}",
        ),
    ]


async def _storage(hub: Hub) -> tuple[str, ...]:
    receipt = await hub.storage.put(
        "demo/hello.txt",
        b"Hello from the hub\n",
        content_type="text/plain",
        metadata={"source": "demo"},
    )
    return ("storage", "put", receipt.provider, receipt.key, f"{receipt.size} bytes")


async def _search(hub: Hub) -> tuple[str, ...]:
    await hub.search.ensure_index("demo", searchable=["title", "body"], filterable=["kind"])
    await hub.search.index(
        "demo",
        [
            {
                "id": "1",
                "title": "Async integration hub",
                "body": "one API per capability",
                "kind": "doc",
            },
            {
                "id": "2",
                "title": "Circuit breakers",
                "body": "fail fast when a vendor is down",
                "kind": "doc",
            },
        ],
    )
    results = await hub.search.search("demo", "integration hub")
    best = results.hits[0].id if results.hits else "-"
    return ("search", "search", results.provider, "demo", f"{results.total} hit(s), best: {best}")
