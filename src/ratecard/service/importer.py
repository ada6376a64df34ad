"""Importing event files of any size: JSON lines, CSV or Parquet, in batches.

Each line (row) is validated on its own: valid events are stored (idempotently, so a re-run
stores nothing twice), refused ones are written with their line number and reasons to a reject
file beside the input (``FILE.rejects.jsonl``). Each batch is one transaction. A line that
cannot be read at all (not UTF-8, not JSON, a 5,000-digit number, nesting too deep for the
parser) is refused like an invalid one: one bad line never stops an import nor costs the good
lines of its batch. The reject file describes the last import of the file: it is removed when
that import refused nothing (the result says so), and created only when something is refused.

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

import psycopg
from sqlalchemy.exc import DataError, IntegrityError

from ratecard.catalog import Catalog, load_catalog
from ratecard.errors import EventError, Problem
from ratecard.service import triggers
from ratecard.service.ingest import Outcome, store_events, validate
from ratecard.service.ports import Store
from ratecard.service.settings import Settings
from ratecard.store.database import retrying
from ratecard.usage.events import Event, TimeWindow

BATCH_SIZE = 5000
#: progress(done, total): units are bytes for text files and rows for Parquet.
Progress = Callable[[int, int], None]
Item = tuple[str, Any]  # (where, object) or (where, Unreadable)

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS |= {".parquet": "parquet", ".pq": "parquet"}


#: The longest quotation of a refused line kept in the reject file (the line number says
#: where the rest is); a line whose event is at most INPUT_LIMIT characters is kept whole.
EXCERPT_LIMIT = 200
INPUT_LIMIT = 2000


@dataclass(frozen=True)
class ImportResult:
    stored: int
    duplicates: int
    refused: int
    rejects: Path | None  # the reject file, when something was refused
    stale_rejects: Path | None = None  # a reject file of an earlier run, removed


@dataclass(frozen=True)
class Unreadable:
    """A line that is no event object: why, and the start of its text."""

    problem: Problem
    excerpt: str


def reject_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def file_format(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise EventError([Problem(str(path), f"unknown event file type; expected one of {known}")])
    return kind


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_LIMIT else text[:EXCERPT_LIMIT] + "..."


def _unreadable(where: str, reason: str, raw: bytes | str) -> tuple[str, Unreadable]:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return where, Unreadable(Problem(where, reason), _excerpt(text.rstrip("\r\n")))


def _jsonl(handle: BinaryIO, name: str) -> Iterator[Item]:
    for number, raw in enumerate(handle, start=1):
        where = f"{name}:{number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield _unreadable(where, f"not UTF-8 text (byte {exc.start + 1})", raw)
            continue
        if not text.strip():
            continue
        try:
            yield where, json.loads(text)
        except json.JSONDecodeError as exc:
            yield _unreadable(where, f"not valid JSON: {exc.msg} at column {exc.colno}", text)
        except (ValueError, RecursionError) as exc:  # a number of > 4,300 digits, deep nesting
            yield _unreadable(where, f"not valid JSON: {_why(exc)}", text)


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return _excerpt(str(exc).split(";")[0])


def _csv(handle: BinaryIO, name: str) -> Iterator[Item]:
    # undecodable bytes are kept as surrogates so that the row, not the file, is refused
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.DictReader(text)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a cell over the csv module's size limit, a stray NUL
            # the reader counts the failing line only once past it: it is the next one
            where = f"{name}:{reader.line_num + 1}"
            yield _unreadable(where, f"not a CSV row: {_excerpt(str(exc))}", "")
            continue
        where = f"{name}:{reader.line_num}"
        extra = row.pop(None, None)
        cells = ",".join(str(value) for value in row.values())
        if extra:
            reason = f"{len(extra)} more cell(s) than header columns"
            yield _unreadable(where, reason, cells)
            continue
        try:
            cells.encode("utf-8")
        except UnicodeEncodeError:
            yield _unreadable(where, "not UTF-8 text", cells.encode("utf-8", "replace"))
            continue
        yield where, {key: value for key, value in row.items() if value not in (None, "")}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo else value.isoformat() + " (no offset)"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parquet_rows(path: Path, name: str, progress: Progress | None) -> Iterator[Item]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = 0
    try:
        source = pq.ParquetFile(path)
        total = source.metadata.num_rows
        for batch in source.iter_batches(batch_size=BATCH_SIZE):
            for row in batch.to_pylist():
                done += 1
                cells = {key: _cell(value) for key, value in row.items() if value is not None}
                yield f"{name}:row {done}", cells
            if progress:
                progress(done, total)
    except (pa.ArrowException, OSError) as exc:  # a damaged file: it has no rows to refuse
        where = f"{name}:row {done + 1}" if done else name
        reason = f"not a readable Parquet file: {_excerpt(str(exc))}"
        raise EventError([Problem(where, reason)]) from None


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
    db: Store,
    path: Path,
    settings: Settings,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> ImportResult:
    """Import an event file; write refused lines to the reject file; return the counts.

    ``now`` (default: the clock) bounds the event times accepted (``settings.time_window``).
    """
    if not path.is_file():
        raise EventError([Problem(str(path), "no such file")])
    file_format(path)
    rejects = reject_path(path)
    stale = rejects if rejects.exists() else None
    if stale is not None:
        rejects.unlink()  # it described an earlier run of this file
    catalog = load_catalog(settings.catalog)
    window = settings.time_window(now or datetime.now(UTC), catalog)
    total = Outcome()
    refused_lines = 0
    out: io.TextIOBase | None = None
    try:
        for batch in _batches(_items(path, progress), batch_size):
            outcome = _import_batch(db, batch, settings, window, catalog)
            total.add(outcome)
            if outcome.problems and out is None:
                out = rejects.open("w", encoding="utf-8")
            if out is not None:
                refused_lines += _write_rejects(out, batch, outcome.problems)
    finally:
        if out is not None:
            out.close()
    return ImportResult(
        total.stored,
        total.duplicates,
        refused_lines,
        rejects if refused_lines else None,
        stale if not refused_lines else None,
    )


def _import_batch(
    db: Store, batch: list[Item], settings: Settings, window: TimeWindow, catalog: Catalog
) -> Outcome:
    readable = [(where, data) for where, data in batch if not isinstance(data, Unreadable)]
    unreadable = [data.problem for _, data in batch if isinstance(data, Unreadable)]
    events, problems = _validated(readable, window, catalog)
    try:
        outcome = _store(db, events, settings)
    except (DataError, IntegrityError, psycopg.DataError, psycopg.IntegrityError):
        # something the database refuses that validation let through: find which lines
        outcome = Outcome()
        for one in events:
            try:
                outcome.add(_store(db, [one], settings))
            except (DataError, IntegrityError, psycopg.DataError, psycopg.IntegrityError) as exc:
                reason = f"the database refused it: {_excerpt(str(exc).splitlines()[0])}"
                outcome.problems.append(Problem(one[0], reason))
    triggers.after_ingest(db, settings, {e.account for _, e in events}, None)  # usage triggers
    outcome.problems = [*unreadable, *problems, *outcome.problems]
    return outcome


def _validated(
    items: list[Item], window: TimeWindow, catalog: Catalog
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """:func:`validate`, and should it fail on something unforeseen, item by item, each
    such item refused with the kind of error (never a traceback, never the whole batch)."""
    try:
        return validate(items, window, catalog)
    except Exception:  # isolated below, item by item
        events: list[tuple[str, Event]] = []
        problems: list[Problem] = []
        for item in items:
            try:
                found, refused = validate([item], window, catalog)
            except Exception as exc:  # reported as this line's problem
                refused, found = [Problem(item[0], f"cannot be read ({type(exc).__name__})")], []
            events.extend(found)
            problems.extend(refused)
        return events, problems


def _store(db: Store, events: list[tuple[str, Event]], settings: Settings) -> Outcome:
    def work() -> Outcome:
        with db.unit_of_work() as uow:
            outcome = store_events(uow, events, settings.late_policy, datetime.now(UTC))
            uow.commit()
            return outcome

    return retrying(work)


def _write_rejects(out: io.TextIOBase, batch: list[Item], problems: list[Problem]) -> int:
    by_where: dict[str, list[Problem]] = {}
    for problem in problems:
        by_where.setdefault(problem.where, []).append(problem)
    for where, data in batch:
        found = by_where.get(where)
        if not found:
            continue
        record: dict[str, Any] = {
            "where": where,
            "line": _line_number(where),
            "problems": [{"field": p.field, "reason": p.reason} for p in found],
        }
        if isinstance(data, Unreadable):
            record["excerpt"] = data.excerpt
        else:
            shown = json.dumps(data, default=str, ensure_ascii=False)
            if len(shown) <= INPUT_LIMIT:
                record["input"] = data
            else:
                record["excerpt"] = _excerpt(shown)
        out.write(json.dumps(record, default=str) + "\n")
    return len(by_where)


def _line_number(where: str) -> int | None:
    """The line (or Parquet row) number of a place ``NAME:12`` / ``NAME:row 12``."""
    tail = where.rsplit(":", 1)[-1].removeprefix("row ")
    return int(tail) if tail.isdigit() else None
