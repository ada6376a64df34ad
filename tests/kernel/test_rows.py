"""Usage rows as codes: every chunk's dictionary lands in one code space, nulls included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from ratecard.rating.columns import ROW_GROUP, SCHEMA, parquet_writer
from ratecard.rating.rows import ParquetRows, Rows, frame_rows

FRAME = pl.DataFrame(
    {
        "event_id": ["e1", "e2", "e3", "e4", "e5", "e6"],
        "account": ["A", "B", "A", "C", "B", "A"],
        "billing_account": ["A", "A", "A", "C", "A", "A"],
        "time": [1, 2, 3, 4, 5, 6],
        "category": ["sms", "voice", "sms", "voice", "fax", "sms"],
        "quantity": [1, 2, 3, 4, 5, 6],
        "country": ["US", None, "CA", "FR", None, "US"],
    },
    schema=SCHEMA,
)


def decoded(rows: Rows) -> dict[str, list[object]]:
    return {
        "account": [rows.account.values[c] for c in rows.account.codes.tolist()],
        "billing_account": [rows.owner.values[c] for c in rows.owner.codes.tolist()],
        "category": [rows.category.values[c] for c in rows.category.codes.tolist()],
        "country": [rows.country.values[c] for c in rows.country.codes.tolist()],
        "time": rows.time.tolist(),
        "quantity": rows.quantity.tolist(),
    }


def expected(frame: pl.DataFrame) -> dict[str, list[object]]:
    return {name: frame[name].to_list() for name in decoded(frame_rows(frame))}


def test_chunks_with_their_own_dictionaries_and_nulls_decode_to_the_same_values() -> None:
    # Three chunks; a null country first seen in the first, a new value ("FR") after it.
    chunks = [FRAME[0:2], FRAME[2:4], FRAME[4:6]]
    frame = pl.concat(chunks, rechunk=False).with_columns(
        pl.col("account", "billing_account", "category", "country").cast(pl.Categorical)
    )
    assert decoded(frame_rows(frame)) == expected(FRAME)


def test_row_groups_and_shards_of_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "usage.parquet"
    table = FRAME.to_arrow()
    with parquet_writer(path, table.schema) as writer:
        writer.write_table(table, row_group_size=2)  # three row groups, three dictionaries
    source = ParquetRows(path)
    assert ROW_GROUP > 2
    assert decoded(source.rows()) == expected(FRAME)
    assert source.owner_counts() == {"A": 5, "C": 1}
    shard = source.rows({"C"})
    assert decoded(shard) == expected(FRAME.filter(pl.col("billing_account") == "C"))
    # Ids are read back by row position, from the row group that holds the row.
    assert shard.fetch("event_id", np.array([0])) == ["e4"]
    assert source.rows().fetch("event_id", np.array([5, 0, 3])) == ["e6", "e1", "e4"]
