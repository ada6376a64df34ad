"""One month of billing, end to end and pure: events -> metered usage -> parts -> invoices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ratecard.accounts import Account, billing_accounts
from ratecard.billing.invoice import Invoice, assemble_invoice
from ratecard.catalog.model import Catalog
from ratecard.errors import RatecardError
from ratecard.flex.billing import apply_flex
from ratecard.flex.history import FlexInstance
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part
from ratecard.rating.engine import rate
from ratecard.usage.events import Event
from ratecard.usage.normalize import normalize


def bill_month(
    catalog: Catalog,
    accounts: Sequence[Account],
    events: Sequence[Event],
    month: Month,
    only: str | None = None,
    flex: Mapping[str, FlexInstance] | None = None,
    phases: Mapping[tuple[str, str], int] | None = None,
) -> list[Invoice]:
    """Draft invoices of every billing account (or only ``only``) for ``month``.

    ``events`` may span other months: number purchases before the month drive its
    anniversary charges, Flex history drives seats and free hours; other events outside the
    month are ignored. ``flex`` maps account sids to their Flex instances. ``phases`` maps
    (account, event id) to the billing phase of that event's usage (absent: 0); usage of a
    later phase is rated after all usage of earlier ones (:attr:`Usage.phase`). Same inputs,
    same output.
    """
    owners = billing_accounts(accounts)
    usages = normalize(events, catalog.categories, month.start, month.end)
    if phases:
        usages = [_phased(usage, phases) for usage in usages]
    included: list[Part] = []
    if flex:
        if catalog.flex is None:
            raise RatecardError(
                f"catalog '{catalog.name}' has no [flex] section to price Flex plans"
            )
        usages, included = apply_flex(catalog.flex, flex, events, usages, month)
    parts = defaultdict(list, rate(catalog, usages, owners))
    for part in included:
        parts[owners[part.account or ""]].append(part)
    invoices = []
    for account in accounts:
        if account.parent is not None or (only is not None and account.sid != only):
            continue
        members = invoice_members(accounts, account)
        invoices.append(
            assemble_invoice(account, members, parts.get(account.sid, []), month, catalog)
        )
    return invoices


def _phased(usage: Usage, phases: Mapping[tuple[str, str], int]) -> Usage:
    """``usage`` in the phase of the event it came from (a number charge's id is the
    purchase's id plus ``@YYYY-MM-DD``)."""
    phase = phases.get((usage.account, usage.event_id))
    if phase is None:
        phase = phases.get((usage.account, usage.event_id.rpartition("@")[0]), 0)
    return replace(usage, phase=phase) if phase else usage


def invoice_members(accounts: Sequence[Account], account: Account) -> list[Account]:
    """The accounts on ``account``'s invoice, in breakdown order: itself, its subaccounts."""
    return [account, *(a for a in accounts if a.parent == account.sid)]
