"""The invoice document as typed values: what an invoice shows, before it is serialized.

Both ways of billing a month build these (:func:`invoice_document` from a computed
:class:`~ratecard.billing.invoice.Invoice`; the month close from the batch kernel's counted
lines, :func:`line_document` with their event counts), and ONE serializer turns them into the
JSON object users and the API see (:func:`ratecard.billing.serialize.document_to_dict`).

Money is exact Decimal in the invoice currency: a line's ``precise_amount`` unrounded, its
``amount`` rounded half-up to the minor unit once; a total is the sum of rounded amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ratecard.billing.invoice import Invoice
from ratecard.rating.lines import Line


@dataclass(frozen=True)
class LineDocument:
    """One line as shown. ``events`` (the event ids) only when explained."""

    category: str
    description: str
    kind: str
    pool: str | None
    tier: str | None
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    precise_amount: Decimal
    amount: Decimal
    event_count: int
    events: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ShareDocument:
    """One account's share of a billing account's invoice (a subaccount breakdown)."""

    account: str
    name: str
    lines: tuple[LineDocument, ...]
    total: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    """A billing account's invoice for one month (``month`` as ``YYYY-MM``)."""

    account: str
    name: str
    month: str
    currency: str
    catalog: str
    lines: tuple[LineDocument, ...]
    subaccounts: tuple[ShareDocument, ...]
    total: Decimal


def line_document(
    line: Line, explain: bool = False, event_count: int | None = None
) -> LineDocument:
    """``line`` as shown; ``event_count`` when its events were counted, not listed."""
    return LineDocument(
        category=line.category,
        description=line.description,
        kind=line.kind.value,
        pool=line.pool,
        tier=line.tier_label,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=line.unit_price,
        precise_amount=line.precise_amount,
        amount=line.amount,
        event_count=len(line.events) if event_count is None else event_count,
        events=tuple(line.events) if explain else None,
    )


def invoice_document(invoice: Invoice, explain: bool = False) -> InvoiceDocument:
    """The document of a computed invoice (every line's event ids with ``explain``)."""
    return InvoiceDocument(
        account=invoice.account,
        name=invoice.name,
        month=str(invoice.month),
        currency=invoice.currency,
        catalog=invoice.catalog,
        lines=tuple(line_document(line, explain) for line in invoice.lines),
        subaccounts=tuple(
            ShareDocument(
                part.account,
                part.name,
                tuple(line_document(line, explain) for line in part.lines),
                part.total,
            )
            for part in invoice.breakdown
        ),
        total=invoice.total,
    )
