"""The catalog: prices as validated, versioned data."""

from ratecard.catalog.load import DEFAULT_CATALOG, load_catalog, parse_catalog
from ratecard.catalog.model import Catalog, CatalogVersion, Charge

__all__ = [
    "DEFAULT_CATALOG",
    "Catalog",
    "CatalogVersion",
    "Charge",
    "load_catalog",
    "parse_catalog",
]
