"""The table of :data:`~ratecard.usage.metering.METERS` as Polars expressions: the quantity of
stored rating columns in whole units, as the batch kernel rates them.

Input columns: ``type``, ``category``, ``quantity`` (exact decimal text in the type's
measure), ``amount`` (decimal text or null). :func:`whole_units` gives the same quantity
:func:`ratecard.usage.normalize.normalize` meters, as an integer of units, wherever the
kernel can rate it, and null wherever it cannot (the month close sends such an account to the
reference path): a quantity that is not a whole number, a call whose billed seconds are not
whole minutes (a per-second increment), a row carrying a money amount, a row without stored
rating columns, or a type not metered one event at a time.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from ratecard.usage.metering import DEFAULT_INCREMENT_SECONDS, METERS, Measure

_WHOLE = r"^[0-9]+$"


def _types(measure: Measure) -> list[str]:
    return [name for name, meter in METERS.items() if meter.measure is measure]


def whole_units(increments: Mapping[str, int]) -> pl.Expr:
    """Quantities in whole units (Int64; exact integers, never floats), null where the
    kernel cannot rate the row. ``increments``: seconds each call category is rounded up to (a
    category not in it rounds to :data:`DEFAULT_INCREMENT_SECONDS`); billed seconds become
    minutes only when whole, as the reference rounding gives."""
    whole = (
        pl.col("quantity").str.contains(_WHOLE)
        & pl.col("amount").is_null()
        & pl.col("category").is_not_null()
    )
    units = pl.when(whole).then(pl.col("quantity").cast(pl.Int64, strict=False))
    increment = pl.col("category").replace_strict(
        dict(increments), default=DEFAULT_INCREMENT_SECONDS, return_dtype=pl.Int64
    )
    billed = (units + increment - 1) // increment * increment
    minutes = pl.when(billed % 60 == 0).then(billed // 60)
    kind = pl.col("type")
    return (
        pl.when(kind.is_in(_types(Measure.SECONDS)))
        .then(minutes)
        .when(kind.is_in(_types(Measure.UNITS)))
        .then(units)
    )
