"""Reading usage events from JSON-lines files, with a place (file:line) for every problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ratecard.errors import Problem


def read_jsonl(path: Path) -> Iterator[tuple[str, Any | Problem]]:
    """Yield ``(where, object)`` per non-blank line, or ``(where, Problem)`` for a bad line.

    JSON floats stay Python floats so that the D() gateway refuses them with a clear reason.
    """
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                yield where, json.loads(text)
            except json.JSONDecodeError as exc:
                yield where, Problem(where, f"not valid JSON: {exc.msg} at column {exc.colno}")
