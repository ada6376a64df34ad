"""ratecard: usage billing and rating for communications platforms.

The curated public API: everything a program needs to price usage without the CLI.
"""

from ratecard.accounts import Account
from ratecard.billing.invoice import Invoice, Line
from ratecard.billing.monthly import bill_month
from ratecard.billing.periods import Month
from ratecard.book import Book, load_book
from ratecard.catalog import Catalog, load_catalog, parse_catalog
from ratecard.errors import (
    BookError,
    CatalogError,
    EventError,
    MoneyError,
    NoPriceError,
    Problem,
    RatecardError,
    RatingError,
)
from ratecard.money import D, Money, round_money
from ratecard.rating.engine import rate
from ratecard.usage.events import parse_event, parse_events
from ratecard.usage.metered import Usage
from ratecard.usage.normalize import normalize

__version__ = "0.1.0"

__all__ = [
    "Account",
    "Book",
    "BookError",
    "Catalog",
    "CatalogError",
    "D",
    "EventError",
    "Invoice",
    "Line",
    "Money",
    "MoneyError",
    "Month",
    "NoPriceError",
    "Problem",
    "RatecardError",
    "RatingError",
    "Usage",
    "bill_month",
    "load_book",
    "load_catalog",
    "normalize",
    "parse_catalog",
    "parse_event",
    "parse_events",
    "rate",
    "round_money",
]
