"""The store: rows, repositories, unit of work and migrations (SQLite or PostgreSQL).

Data flow: the service layer opens a :class:`UnitOfWork` on a :class:`Database`, reads plain
values through repositories, calls the pure core, writes the results, and commits. All SQL
lives in :mod:`ratecard.store.repositories`; the schema changes only by Alembic migrations in
``migrations/versions`` (``ratecard db upgrade``).
"""

from ratecard.store.database import Database, database_url, default_url
from ratecard.store.unit_of_work import UnitOfWork

__all__ = ["Database", "UnitOfWork", "database_url", "default_url"]
