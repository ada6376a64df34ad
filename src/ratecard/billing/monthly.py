"""One month of billing, end to end and pure: events -> metered usage -> parts -> invoices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ratecard.accounts import Account, billing_accounts
from ratecard.billing.invoice import Invoice, assemble_invoice
from ratecard.billing.periods import Month
from ratecard.catalog.model import Catalog
from ratecard.rating.engine import rate
from ratecard.usage.events import Event
from ratecard.usage.normalize import normalize


def bill_month(
    catalog: Catalog,
    accounts: Sequence[Account],
    events: Iterable[Event],
    month: Month,
    only: str | None = None,
) -> list[Invoice]:
    """Draft invoices of every billing account (or only ``only``) for ``month``.

    ``events`` may span other months: number purchases before the month drive its
    anniversary charges; other events outside the month are ignored. Same inputs, same output.
    """
    owners = billing_accounts(accounts)
    usages = normalize(events, catalog.categories, month.start, month.end)
    parts = rate(catalog, usages, owners)
    invoices = []
    for account in accounts:
        if account.parent is not None or (only is not None and account.sid != only):
            continue
        members = [account, *(a for a in accounts if a.parent == account.sid)]
        invoices.append(
            assemble_invoice(account, members, parts.get(account.sid, []), month, catalog)
        )
    return invoices
