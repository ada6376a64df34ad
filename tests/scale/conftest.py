"""Scale-out fixtures: one local Spark session for the whole test session, and the storage
tests' database fixtures (SQLite and PostgreSQL) for the export tests.

Spark must start: when it cannot (no Java, PySpark missing), the tests ERROR, never skip.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ratecard.scale.spark import start_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The storage tests' fixtures (db_url on both backends, settings), loaded from their conftest
# by path: tests/ is not a package, and the fixtures are one definition.
_spec = importlib.util.spec_from_file_location(
    "storage_fixtures", Path(__file__).resolve().parents[1] / "storage" / "conftest.py"
)
assert _spec is not None
assert _spec.loader is not None
_storage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_storage)
postgres_url = _storage.postgres_url
db_url = _storage.db_url
db = _storage.db
settings = _storage.settings


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """Spark in local mode on two cores: few shuffle partitions, no UI."""
    session = start_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
        },
    )
    yield session
    session.stop()
