"""Rich rendering of invoices for the terminal."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ratecard.billing.invoice import Invoice
from ratecard.rating.lines import Line


def _tier(line: Line) -> str:
    label = line.tier_label or ""
    if line.kind.value not in ("usage", "included"):
        label = f"{line.kind.value.replace('_', ' ')}" + (f" ({label})" if label else "")
    return label


def lines_table(lines: tuple[Line, ...], title: str, total: str, currency: str) -> Table:
    table = Table(title=title, title_justify="left", show_footer=True, expand=False)
    table.add_column("category", footer="total")
    table.add_column("tier")
    table.add_column("quantity", justify="right")
    table.add_column("unit")
    table.add_column("unit price", justify="right")
    table.add_column(f"amount ({currency})", justify="right", footer=total)
    for line in lines:
        table.add_row(
            line.category,
            _tier(line),
            f"{line.quantity:,}",
            line.unit,
            "" if line.unit_price is None else str(line.unit_price),
            f"{line.amount:,}",
        )
    return table


def invoice_renderable(invoice: Invoice) -> Group:
    head = Text.assemble(
        ("Invoice ", "bold"),
        (f"{invoice.month}", "bold cyan"),
        f"  {invoice.name} ({invoice.account})  catalog {invoice.catalog}",
    )
    parts: list[object] = [
        head,
        lines_table(invoice.lines, "", f"{invoice.total:,}", invoice.currency),
    ]
    for share in invoice.breakdown:
        if share.lines:
            title = f"  of which {share.name} ({share.account})"
            parts.append(lines_table(share.lines, title, f"{share.total:,}", invoice.currency))
    return Group(*parts)  # type: ignore[arg-type]


def print_invoices(console: Console, invoices: list[Invoice]) -> None:
    for invoice in invoices:
        console.print(invoice_renderable(invoice))
        console.print()
