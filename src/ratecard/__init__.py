"""ratecard: usage billing and rating for communications platforms.

The curated public API: everything a program needs to price usage without the CLI.
"""

from ratecard.accounts import Account
from ratecard.billing.advisor import Option, compare
from ratecard.billing.invoice import Invoice
from ratecard.billing.monthly import bill_month
from ratecard.book import Book, load_book
from ratecard.catalog import Catalog, load_catalog, parse_catalog
from ratecard.deflex.checklist import Finding, checklist
from ratecard.deflex.resources import AccountResources, parse_resources
from ratecard.deflex.workflow import DeflexRequest
from ratecard.errors import (
    BookError,
    CatalogError,
    DeflexError,
    EventError,
    MoneyError,
    NoPriceError,
    PlanChangeRefusedError,
    Problem,
    RatecardError,
    RatingError,
)
from ratecard.flex.history import FlexInstance, PlanPeriod, apply_flex_change, check_change
from ratecard.money import D, Money, round_money
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.pricing import Quote, price
from ratecard.rating.engine import rate
from ratecard.rating.lines import Line
from ratecard.usage.events import parse_event, parse_events
from ratecard.usage.normalize import normalize

__version__ = "0.1.0"

__all__ = [
    "Account",
    "AccountResources",
    "Book",
    "BookError",
    "Catalog",
    "CatalogError",
    "D",
    "DeflexError",
    "DeflexRequest",
    "EventError",
    "Finding",
    "FlexInstance",
    "Invoice",
    "Line",
    "Money",
    "MoneyError",
    "Month",
    "NoPriceError",
    "Option",
    "PlanChangeRefusedError",
    "PlanPeriod",
    "Problem",
    "Quote",
    "RatecardError",
    "RatingError",
    "Usage",
    "apply_flex_change",
    "bill_month",
    "check_change",
    "checklist",
    "compare",
    "load_book",
    "load_catalog",
    "normalize",
    "parse_catalog",
    "parse_event",
    "parse_events",
    "parse_resources",
    "price",
    "rate",
    "round_money",
]
