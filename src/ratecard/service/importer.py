"""Importing event files of any size: JSON lines, CSV or Parquet, in batches.

Each line (row) is validated on its own: valid events are stored (idempotently, so a re-run
stores nothing twice), refused ones are written with their reasons to a reject file beside the
input (``FILE.rejects.jsonl``). Each batch is one transaction.

CSV is read with the standard library so every cell stays exact text (an empty cell is an
absent field); Parquet with pyarrow, where a float column is refused like a JSON float.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ratecard.errors import EventError, Problem
from ratecard.service.ingest import Outcome, store_events, validate
from ratecard.service.settings import Settings
from ratecard.store.database import Database, retrying
from ratecard.store.unit_of_work import UnitOfWork

BATCH_SIZE = 5000
#: progress(done, total): units are bytes for text files and rows for Parquet.
Progress = Callable[[int, int], None]
Item = tuple[str, Any]  # (where, object) or (where, Problem) for an unreadable line

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS |= {".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class ImportResult:
    stored: int
    duplicates: int
    refused: int
    rejects: Path | None  # the reject file, when something was refused


def reject_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def file_format(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise EventError([Problem(str(path), f"unknown event file type; expected one of {known}")])
    return kind


def _jsonl(handle: BinaryIO, name: str) -> Iterator[Item]:
    for number, raw in enumerate(handle, start=1):
        where = f"{name}:{number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield where, Problem(where, "not UTF-8 text")
            continue
        if not text.strip():
            continue
        try:
            yield where, json.loads(text)
        except json.JSONDecodeError as exc:
            yield where, Problem(where, f"not valid JSON: {exc.msg} at column {exc.colno}")


def _csv(handle: BinaryIO, name: str) -> Iterator[Item]:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    reader = csv.DictReader(text)
    for row in reader:
        where = f"{name}:{reader.line_num}"
        extra = row.pop(None, None)
        if extra:
            yield where, Problem(where, f"{len(extra)} more cell(s) than header columns")
            continue
        yield where, {key: value for key, value in row.items() if value not in (None, "")}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo else value.isoformat() + " (no offset)"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parquet_rows(path: Path, name: str, progress: Progress | None) -> Iterator[Item]:
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    total = source.metadata.num_rows
    done = 0
    for batch in source.iter_batches(batch_size=BATCH_SIZE):
        for row in batch.to_pylist():
            done += 1
            cells = {key: _cell(value) for key, value in row.items() if value is not None}
            yield f"{name}:row {done}", cells
        if progress:
            progress(done, total)


def _items(path: Path, progress: Progress | None) -> Iterator[Item]:
    kind = file_format(path)
    if kind == "parquet":
        yield from _parquet_rows(path, path.name, progress)
        return
    total = path.stat().st_size
    with path.open("rb") as handle:
        reader = _jsonl if kind == "jsonl" else _csv
        for count, item in enumerate(reader(handle, path.name), start=1):
            yield item
            if progress and count % 1000 == 0:
                progress(min(handle.tell(), total), total)
        if progress:
            progress(total, total)


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_file(
    db: Database,
    path: Path,
    settings: Settings,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import an event file; write refused lines to the reject file; return the counts."""
    if not path.is_file():
        raise EventError([Problem(str(path), "no such file")])
    file_format(path)
    rejects = reject_path(path)
    total = Outcome()
    refused_lines = 0
    with rejects.open("w", encoding="utf-8") as out:
        for batch in _batches(_items(path, progress), batch_size):
            outcome = _import_batch(db, batch, settings)
            total.add(outcome)
            refused_lines += _write_rejects(out, batch, outcome.problems)
    if refused_lines == 0:
        rejects.unlink()
    return ImportResult(
        total.stored, total.duplicates, refused_lines, rejects if refused_lines else None
    )


def _import_batch(db: Database, batch: list[Item], settings: Settings) -> Outcome:
    readable = [(where, data) for where, data in batch if not isinstance(data, Problem)]
    unreadable = [data for _, data in batch if isinstance(data, Problem)]
    events, problems = validate(readable)

    def work() -> Outcome:
        with UnitOfWork(db) as uow:
            outcome = store_events(uow, events, settings.late_policy, datetime.now(UTC))
            uow.commit()
            return outcome

    outcome = retrying(work)
    outcome.problems = [*unreadable, *problems, *outcome.problems]
    return outcome


def _write_rejects(out: io.TextIOBase, batch: list[Item], problems: list[Problem]) -> int:
    by_where: dict[str, list[Problem]] = {}
    for problem in problems:
        by_where.setdefault(problem.where, []).append(problem)
    for where, data in batch:
        found = by_where.get(where)
        if not found:
            continue
        record = {
            "where": where,
            "problems": [{"field": p.field, "reason": p.reason} for p in found],
            "input": None if isinstance(data, Problem) else data,
        }
        out.write(json.dumps(record, default=str) + "\n")
    return len(by_where)
