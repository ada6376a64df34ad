"""A catalog of one category and its prices, as read from TOML, for catalog-validation tests."""

from __future__ import annotations

from typing import Any


def catalog_of(*prices: dict[str, Any], unit: str = "units") -> dict[str, Any]:
    """Catalog data with category ``c`` (in ``unit``) and ``prices``."""
    return {
        "name": "t",
        "version": "1",
        "currency": "USD",
        "effective": "2026-01-01",
        "categories": {"c": {"description": "c", "unit": unit}},
        "prices": list(prices),
    }
